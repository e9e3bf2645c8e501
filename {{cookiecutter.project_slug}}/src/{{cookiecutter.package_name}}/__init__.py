"""{{ cookiecutter.project_name }}: an OCI Data Science BYOC model server."""

__version__ = "{{ cookiecutter.image_tag }}"
