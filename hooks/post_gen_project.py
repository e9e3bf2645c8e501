"""Print the next steps of the new project.

Files that only one option uses carry a conditional name in the template
(``{% if cookiecutter.framework == "flask" %}app.py{% endif %}``): cookiecutter and
copier both skip a file whose name renders empty, so nothing of an unchosen
option is written and there is nothing to delete here.
"""

NEXT_STEPS = """
Created {{ cookiecutter.project_slug }}:
a {{ cookiecutter.framework }} scorer on port {{ cookiecutter.__server_port }}.
{%- if cookiecutter.server == "triton" %}
Deployed with NVIDIA Triton: make train also writes model_repository/ (ONNX).
{%- endif %}

Next steps:
  cd {{ cookiecutter.project_slug }}
  make install   # .venv from the locked requirements
  make train     # the sample model into model_artifact/
  make test      # the project's own tests
  make serve     # the production server on http://127.0.0.1:{{ cookiecutter.__server_port }}
  make help      # every target, with what it does

Before OCI: your region, namespace and OCIDs go in deploy/deployment.toml
(the one home of the OCI settings; make settings shows them).
"""

if __name__ == "__main__":
    print(NEXT_STEPS)
