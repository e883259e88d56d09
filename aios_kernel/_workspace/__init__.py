"""Workspace folders and their settings, the workspace key, the credential store, stored attachments."""

from .._store import use_keys
from ._blobs import Blobs
from ._config import SCHEMA, Config, Setting, extend_schema, validate
from ._hours import WorkingTime, parse_days
from ._keys import WorkspaceKeys, derived_key, key_dir, os_keyring, workspace_key
from ._secrets import Secret, SecretStore
from ._workspace import ENV_VAR, WorkspacePaths, check_path, create, default_path, harden, private, private_tree, write_private

use_keys(WorkspaceKeys())  # every Store.open keys its chain with the workspace key unless told otherwise

__all__ = ["ENV_VAR", "SCHEMA", "Blobs", "Config", "Secret", "SecretStore", "Setting", "WorkingTime", "WorkspaceKeys", "WorkspacePaths", "check_path", "derived_key", "parse_days",
           "create", "default_path", "extend_schema", "harden", "key_dir", "os_keyring", "private", "private_tree", "validate",
           "workspace_key", "write_private"]
