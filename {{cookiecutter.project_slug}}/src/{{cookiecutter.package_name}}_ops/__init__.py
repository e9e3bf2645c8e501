"""The project's deployment tooling: artifact, catalog, image records, deployment requests,
lifecycle, IAM policies and signed calls to the live endpoint.

Run on a laptop or in CI, never in the scorer's image: the server package does not
import it, and the image leaves it out (.dockerignore). ``python -m {{ cookiecutter.package_name }}_ops --help``
lists its commands.
"""
