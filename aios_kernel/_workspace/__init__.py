"""Workspace folders and their settings, the workspace key, the credential store."""

from .._store import use_keys
from ._config import SCHEMA, Config, Setting, extend_schema, validate
from ._keys import WorkspaceKeys, key_dir, workspace_key
from ._secrets import Secret, SecretStore
from ._workspace import ENV_VAR, WorkspacePaths, check_path, create, default_path, harden, private, private_tree, write_private

use_keys(WorkspaceKeys())  # every Store.open keys its chain with the workspace key unless told otherwise

__all__ = ["ENV_VAR", "SCHEMA", "Config", "Secret", "SecretStore", "Setting", "WorkspaceKeys", "WorkspacePaths", "check_path",
           "create", "default_path", "extend_schema", "harden", "key_dir", "private", "private_tree", "validate",
           "workspace_key", "write_private"]
