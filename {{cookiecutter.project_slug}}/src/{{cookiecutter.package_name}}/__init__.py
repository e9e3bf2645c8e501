"""{{ cookiecutter.project_slug }}: an OCI BYOC model server."""

from .signature import save_model

__version__ = "0.1.0"
__all__ = ["save_model"]
