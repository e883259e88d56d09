"""Workspace folders and their settings."""

from ._config import SCHEMA, Config, Setting, extend_schema, validate
from ._secrets import Secret, SecretStore
from ._workspace import ENV_VAR, WorkspacePaths, check_path, create, default_path, harden, private, private_tree, write_private

__all__ = ["ENV_VAR", "SCHEMA", "Config", "Secret", "SecretStore", "Setting", "WorkspacePaths", "check_path", "create",
           "default_path", "extend_schema", "harden", "private", "private_tree", "validate", "write_private"]
