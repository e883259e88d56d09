"""Workspace folders and their settings."""

from .._store import use_keys
from ._config import SCHEMA, Config, Setting, extend_schema, validate
from ._keys import WorkspaceKeys, key_dir, workspace_key
from ._workspace import ENV_VAR, WorkspacePaths, check_path, create, default_path

use_keys(WorkspaceKeys())  # every Store.open keys its chain with the workspace key unless told otherwise

__all__ = ["ENV_VAR", "SCHEMA", "Config", "Setting", "WorkspaceKeys", "WorkspacePaths", "check_path", "create", "default_path",
           "extend_schema", "key_dir", "validate", "workspace_key"]
