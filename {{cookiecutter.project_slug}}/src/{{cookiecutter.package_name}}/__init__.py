"""{{ cookiecutter.project_name }}: an OCI Data Science BYOC model server."""

from .signature import save_model

__version__ = "{{ cookiecutter.image_tag }}"
__all__ = ["save_model"]
