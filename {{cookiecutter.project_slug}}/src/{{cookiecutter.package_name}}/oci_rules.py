"""The OCI Model Deployment (BYOC) rules, in one place.

The template's pre-generation hook, its copier validators and this project's
own pre-flight checks all use this module, so a rule is written once. It has
no dependencies beyond the standard library.

Sources: the OCI Data Science "Bring Your Own Container" documentation and the
OCI Python SDK's region table (``oci.regions``), which a test of the template
compares with ``REGIONS`` below.
"""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping
from typing import NamedTuple

PORT_MIN = 1024
PORT_MAX = 65535
RESERVED_PORTS = (24224, 8446, 8447)
# CMD + ENTRYPOINT: the SDK says "must be less than 2048 bytes", the BYOC document "can't be
# more than 2048": the stricter holds, so 2047 at most. The same for the environment variables
# (keys and values together; the SDK: "less than 2048 bytes").
MAX_CMD_ENTRYPOINT_BYTES = 2048
MAX_ENVIRONMENT_BYTES = 2048
# A key: a letter, then letters, digits and "_", 2 to 31 characters, not ending in "_".
ENVIRONMENT_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,29}[A-Za-z0-9]")
# Set by the service inside the container; a deployment may not set them.
RESERVED_ENVIRONMENT = frozenset(
    {"MODEL_DEPLOYMENT_OCID", "MODEL_SERVING_PYTHON_VERSION", "TENANCY_OCID", "CONTAINER_CUSTOM_IMAGE"}
)
# The CPU of a shape: Ampere (VM.Standard.A1.Flex, BM.Standard.A1.160 ...) is arm64, the others amd64
# (the E-series, Standard3, and GPU shapes such as VM.GPU.A10.1, whose A names NVIDIA's GPU).
ARM_SHAPE_RE = re.compile(r"(?:VM|BM)\.Standard\.A[0-9]+\..+")
A1_SHAPE_RE = re.compile(r"(?:VM|BM)\.Standard\.A1\..+")
# The load balancer's bandwidth a model deployment gets unless told otherwise, in Mbps.
DEFAULT_BANDWIDTH_MBPS = 10
MAX_IMAGE_BYTES = 16 * 1000**3  # 16 GB, uncompressed
MAX_PREDICT_BODY_BYTES = 10 * 1024 * 1024  # 10 MB per /predict request
# Model artifacts: up to 100 MB through the Console, up to 2 GB uploaded
# directly (SDK, CLI); larger ones go through Object Storage, up to 400 GB.
MAX_CONSOLE_ARTIFACT_BYTES = 100 * 1000**2
MAX_DIRECT_ARTIFACT_BYTES = 2 * 1000**3
MAX_ARTIFACT_BYTES = 400 * 1000**3
# A model's input and output schema in the catalog (OCI ADS: INPUT_OUTPUT_SCHENA_SIZE_LIMIT).
MAX_SCHEMA_BYTES = 32000
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
MODEL_MOUNT = "/opt/ds/model/deployed_model"
PYTHON_VERSIONS = ("3.11", "3.12", "3.13")
FRAMEWORKS = ("flask", "fastapi")
SERVERS = ("python", "triton")

# Every pattern is matched whole (``fullmatch``): ``re.match`` with ``$`` lets a
# trailing newline through. Character classes are ASCII only.
MAX_NAME_CHARS = 100
MAX_SLUG_CHARS = 63
MAX_OWNER_CHARS = 16
MAX_WORKERS = 256
FALLBACK_SLUG = "model-service"
SLUG_RE = re.compile(r"[a-z](?:[a-z0-9-]*[a-z0-9])?")
PACKAGE_RE = re.compile(r"[a-z][a-z0-9_]*")
NAMESPACE_RE = re.compile(r"[a-z0-9]+")
NUMBER_RE = re.compile(r"[1-9][0-9]*")
MODEL_FILE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# Docker distribution's repository path grammar (lower case components
# separated by "/", with ".", "_", "__" or runs of "-" inside a component).
REPOSITORY_RE = re.compile(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# OCI free-form tags (Tagging limits): a key of 1 to 100 characters without
# periods or spaces, a value of up to 256; at most 64 tags on a resource.
MAX_FREEFORM_TAGS = 64
MAX_TAG_KEY_CHARS = 100
MAX_TAG_VALUE_CHARS = 256
# Top-level modules of the projects' requirements (every variant, runtime and
# dev, with what they pull in) and of the project's own folders: a package of one
# of these names would shadow it. A template test checks every installed one is here.
TAKEN_MODULES = frozenset({
    "aiohappyeyeballs", "aiohttp", "aiosignal", "annotated_doc", "annotated_types", "anyio",
    "asn1crypto", "attr", "attrs", "bench", "blinker", "_brotli", "brotli", "certifi", "cffi",
    "_cffi_backend", "cfgv", "charset_normalizer", "circuitbreaker", "click", "cloudpickle", "conftest",
    "crc32c", "cryptography", "dateutil", "deploy", "distlib", "_distutils_hack", "fastapi", "filelock",
    "flask", "flatbuffers", "frozenlist", "gevent", "geventhttpclient", "google", "greenlet", "grpc",
    "gunicorn", "h11", "httpcore2", "httptools", "httpx2", "identify", "idna", "iniconfig",
    "itsdangerous", "jinja2", "joblib", "jwt", "lightgbm", "markupsafe", "ml_dtypes", "model_artifact", "msgspec",
    "model_repository", "multidict", "narwhals", "nodeenv", "numpy", "oci", "onnx", "onnxruntime",
    "OpenSSL", "opentelemetry", "packaging", "pandas", "pip", "pkcs11", "pkg_resources", "platformdirs",
    "pluggy", "pre_commit", "pre_commit_hooks", "propcache", "py", "pycparser", "pydantic",
    "pydantic_core", "pygments", "_pytest", "pytest", "python_discovery", "pytz", "rapidjson",
    "requests", "ruamel", "ruff", "scipy", "scripts", "setuptools", "six", "skl2onnx", "sklearn",
    "starlette", "tests", "threadpoolctl", "tritonclient", "tritonclientutils", "tritongrpcclient",
    "tritonhttpclient", "tritonshmutils", "truststore", "typing_extensions", "typing_inspection", "urllib3",
    "uv", "uvicorn", "uvicorn_worker", "uvloop", "virtualenv", "werkzeug", "xgboost", "yaml", "yarl", "zope",
})  # fmt: skip

# region identifier -> (region key, realm); equal to oci.regions.REGIONS_SHORT_NAMES
# and oci.regions.REGION_REALMS (a template test checks it).
REGIONS: dict[str, tuple[str, str]] = {
    "af-casablanca-1": ("lej", "oc1"),
    "af-johannesburg-1": ("jnb", "oc1"),
    "ap-batam-1": ("hsg", "oc1"),
    "ap-chiyoda-1": ("nja", "oc8"),
    "ap-chuncheon-1": ("yny", "oc1"),
    "ap-chuncheon-2": ("bno", "oc35"),
    "ap-dcc-canberra-1": ("wga", "oc10"),
    "ap-dcc-gazipur-1": ("dac", "oc15"),
    "ap-delhi-1": ("onm", "oc1"),
    "ap-hyderabad-1": ("hyd", "oc1"),
    "ap-ibaraki-1": ("ukb", "oc8"),
    "ap-kulai-2": ("jbp", "oc1"),
    "ap-melbourne-1": ("mel", "oc1"),
    "ap-mumbai-1": ("bom", "oc1"),
    "ap-osaka-1": ("kix", "oc1"),
    "ap-seoul-1": ("icn", "oc1"),
    "ap-seoul-2": ("dtz", "oc35"),
    "ap-singapore-1": ("sin", "oc1"),
    "ap-singapore-2": ("xsp", "oc1"),
    "ap-suwon-1": ("dln", "oc35"),
    "ap-sydney-1": ("syd", "oc1"),
    "ap-tokyo-1": ("nrt", "oc1"),
    "ca-montreal-1": ("yul", "oc1"),
    "ca-toronto-1": ("yyz", "oc1"),
    "eu-amsterdam-1": ("ams", "oc1"),
    "eu-budapest-1": ("jsk", "oc51"),
    "eu-crissier-1": ("avf", "oc24"),
    "eu-dcc-dublin-1": ("ork", "oc14"),
    "eu-dcc-dublin-2": ("snn", "oc14"),
    "eu-dcc-milan-1": ("bgy", "oc14"),
    "eu-dcc-milan-2": ("mxp", "oc14"),
    "eu-dcc-rating-1": ("dus", "oc14"),
    "eu-dcc-rating-2": ("dtm", "oc14"),
    "eu-dcc-zurich-1": ("avz", "oc24"),
    "eu-frankfurt-1": ("fra", "oc1"),
    "eu-frankfurt-2": ("str", "oc19"),
    "eu-jovanovac-1": ("beg", "oc20"),
    "eu-madrid-1": ("mad", "oc1"),
    "eu-madrid-2": ("vll", "oc19"),
    "eu-madrid-3": ("orf", "oc1"),
    "eu-marseille-1": ("mrs", "oc1"),
    "eu-milan-1": ("lin", "oc1"),
    "eu-paris-1": ("cdg", "oc1"),
    "eu-stockholm-1": ("arn", "oc1"),
    "eu-turin-1": ("nrq", "oc1"),
    "eu-zurich-1": ("zrh", "oc1"),
    "il-jerusalem-1": ("mtz", "oc1"),
    "me-abudhabi-1": ("auh", "oc1"),
    "me-abudhabi-2": ("rkt", "oc29"),
    "me-abudhabi-3": ("ahu", "oc26"),
    "me-abudhabi-4": ("shj", "oc29"),
    "me-alain-1": ("rba", "oc26"),
    "me-alrayyan-1": ("vve", "oc21"),
    "me-dcc-doha-1": ("doh", "oc21"),
    "me-dcc-muscat-1": ("mct", "oc9"),
    "me-dubai-1": ("dxb", "oc1"),
    "me-ibri-1": ("ibr", "oc9"),
    "me-jeddah-1": ("jed", "oc1"),
    "me-riyadh-1": ("ruh", "oc1"),
    "mx-monterrey-1": ("mty", "oc1"),
    "mx-queretaro-1": ("qro", "oc1"),
    "sa-bogota-1": ("bog", "oc1"),
    "sa-riodejaneiro-1": ("hnw", "oc52"),
    "sa-santiago-1": ("scl", "oc1"),
    "sa-saopaulo-1": ("gru", "oc1"),
    "sa-valparaiso-1": ("vap", "oc1"),
    "sa-vinhedo-1": ("vcp", "oc1"),
    "uk-cardiff-1": ("cwl", "oc1"),
    "uk-gov-cardiff-1": ("brs", "oc4"),
    "uk-gov-london-1": ("ltn", "oc4"),
    "uk-london-1": ("lhr", "oc1"),
    "us-ashburn-1": ("iad", "oc1"),
    "us-ashburn-2": ("yxj", "oc42"),
    "us-chicago-1": ("ord", "oc1"),
    "us-gov-ashburn-1": ("ric", "oc3"),
    "us-gov-chicago-1": ("pia", "oc3"),
    "us-gov-phoenix-1": ("tus", "oc3"),
    "us-langley-1": ("lfi", "oc2"),
    "us-luke-1": ("luf", "oc2"),
    "us-newark-1": ("pgc", "oc42"),
    "us-phoenix-1": ("phx", "oc1"),
    "us-saltlake-2": ("aga", "oc1"),
    "us-sanjose-1": ("sjc", "oc1"),
    "us-somerset-1": ("ebb", "oc23"),
    "us-thames-1": ("ebl", "oc23"),
}

# realm -> second-level domain, as oci.regions.REALMS.
REALM_DOMAINS: dict[str, str] = {
    "oc1": "oraclecloud.com",
    "oc2": "oraclegovcloud.com",
    "oc3": "oraclegovcloud.com",
    "oc4": "oraclegovcloud.uk",
    "oc8": "oraclecloud8.com",
    "oc9": "oraclecloud9.com",
    "oc10": "oraclecloud10.com",
    "oc14": "oraclecloud14.com",
    "oc15": "oraclecloud15.com",
    "oc19": "oraclecloud.eu",
    "oc20": "oraclecloud20.com",
    "oc21": "oraclecloud21.com",
    "oc23": "oraclecloud23.com",
    "oc24": "oraclecloud24.com",
    "oc26": "oraclecloud26.com",
    "oc29": "oraclecloud29.com",
    "oc35": "oraclecloud35.com",
    "oc42": "oraclecloud42.com",
    "oc51": "oraclecloud51.com",
    "oc52": "oraclecloud52.com",
}


def body_size(content_length: str | bytes, limit: int = MAX_PREDICT_BODY_BYTES) -> int | None:
    """A request's Content-Length as a size of at most ``limit`` bytes, or None: over it, or not
    ASCII digits. The digits are counted before int(): Python refuses a string of more than
    4,300 digits with a ValueError (one such header once ended a Flask worker, and answered 500
    on FastAPI when padded with zeros)."""
    text = content_length.decode("latin-1") if isinstance(content_length, bytes) else content_length
    if not (text.isascii() and text.isdigit()):
        return None
    significant = text.lstrip("0") or "0"
    if len(significant) > len(str(limit)):
        return None
    size = int(significant)
    return size if size <= limit else None


def ocir_host(region: str) -> str:
    """Container Registry host of a region ("" when the region is unknown).

    The commercial realm uses ``<key>.ocir.io`` (``iad.ocir.io``); other realms
    use ``ocir.<region>.oci.<realm domain>``.
    """
    if region not in REGIONS:
        return ""
    key, realm = REGIONS[region]
    if realm == "oc1":
        return f"{key}.ocir.io"
    return f"ocir.{region}.oci.{REALM_DOMAINS[realm]}"


def region_of_registry(host: str) -> str | None:
    """The region whose Container Registry is ``host`` (``iad.ocir.io`` or ``us-ashburn-1.ocir.io``)."""
    for region in REGIONS:
        if host in {ocir_host(region), f"{region}.ocir.io"}:
            return region
    return None


def command_bytes(cmd: list[str], entrypoint: list[str]) -> int:
    """Size of CMD and ENTRYPOINT together, as the service counts it (the arguments' bytes)."""
    return sum(len(part.encode()) for part in [*entrypoint, *cmd])


def check_command(cmd: list[str], entrypoint: list[str]) -> str | None:
    """CMD + ENTRYPOINT under the limit; when over, what the BYOC document suggests instead."""
    size = command_bytes(cmd, entrypoint)
    if size < MAX_CMD_ENTRYPOINT_BYTES:
        return None
    return (
        f"container.cmd + entrypoint: {size} bytes; OCI takes less than {MAX_CMD_ENTRYPOINT_BYTES} "
        f"(the SDK's rule, stricter than the document's 'not more than {MAX_CMD_ENTRYPOINT_BYTES}'): "
        f"put the arguments in a file of the model artifact (read from {MODEL_MOUNT}) "
        "or in Object Storage, as the document suggests"
    )


def environment_bytes(environment: Mapping[str, str]) -> int:
    """Size of the environment variables, keys and values together."""
    return sum(len(key.encode()) + len(str(value).encode()) for key, value in environment.items())


def check_environment(environment: Mapping[str, str], where: str = "container.environment") -> list[str]:
    """What OCI would refuse in a deployment's environment variables (the SDK's and the service's rules)."""
    problems = []
    for key, value in environment.items():
        if not ENVIRONMENT_KEY_RE.fullmatch(key):
            problems.append(
                f"{where}.{shown(key)}: a key is 2 to 31 letters, digits or '_', "
                "starting with a letter and not ending in '_'"
            )
        elif key in RESERVED_ENVIRONMENT:
            problems.append(f"{where}.{key}: set by the service itself; a deployment can't set it")
        elif key.endswith("PORT") and (problem := check_port(f"{where}.{key}", str(value))):
            problems.append(problem)  # the service checks ports passed as variables as it does ports
    size = environment_bytes(environment)
    if size >= MAX_ENVIRONMENT_BYTES:
        problems.append(
            f"{where}: {size} bytes of keys and values; OCI takes less than {MAX_ENVIRONMENT_BYTES}: "
            "put the rest in a file of the model artifact or in Object Storage"
        )
    return problems


# OCI's configuration overrides: variables of a deployment's environment that the service itself
# reads, or that Oracle's samples set for it (oracle-samples/oci-data-science-ai-samples:
# model-deployment/containers/llama2/README.md, "Troubleshooting", and the NIM, vLLM and Triton
# TensorRT samples; ADS's ModelDeploymentInfrastructure.with_web_concurrency sets WEB_CONCURRENCY).
PREDICT_PATH, HEALTH_PATH = "/predict", "/health"  # the BYOC contract's routes (the platform document)
# "Max value allowed is 240" (the llama2 sample); Oracle documents no least value: ours, 1 minute.
MIN_DEPLOYMENT_TIMEOUT_MINUTES, MAX_DEPLOYMENT_TIMEOUT_MINUTES = 1, 240
# "as high as max boot volumes allowed" (the llama2 sample): OCI Block Volume's boot volumes take
# 50 GB to 32 TB.
MIN_STORAGE_GB, MAX_STORAGE_GB = 50, 32 * 1024
# A path OCI routes to: "/", or segments of RFC 3986's unreserved characters, none starting with "."
# (no "." or ".." a client would fold away), an optional "/" at the end. At most 200 characters:
# ours, a route a gateway maps, not data.
ENDPOINT_PATH_RE = re.compile(r"/|(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+/?")
MAX_ENDPOINT_PATH_CHARS = 200
# docker run --shm-size: a whole number of bytes, or of k, m or g (powers of 1024), as the samples
# write it ("10g"); at most the instance's memory (ours: /dev/shm is memory).
SHM_SIZE_RE = re.compile(r"([1-9][0-9]{0,14})([bkmg]?)", re.IGNORECASE)
SHM_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


class Override(NamedTuple):
    does: str  # what the service (or the scorer) does with it
    takes: str  # the values the pre-flight accepts


OVERRIDES: dict[str, Override] = {
    "MODEL_DEPLOY_PREDICT_ENDPOINT": Override(
        f"the path OCI sends {PREDICT_PATH} calls to; the scorer serves it as well as {PREDICT_PATH}",
        f"a path starting with '/', at most {MAX_ENDPOINT_PATH_CHARS} characters, not the health path",
    ),
    "MODEL_DEPLOY_HEALTH_ENDPOINT": Override(
        f"the path of OCI's health check; the scorer serves it as well as {HEALTH_PATH}",
        f"a path starting with '/', at most {MAX_ENDPOINT_PATH_CHARS} characters, not the predict path",
    ),
    "WEB_CONCURRENCY": Override(
        "the scorer's worker processes, as WORKERS (ADS's with_web_concurrency sets it)",
        f"a whole number from 1 to {MAX_WORKERS}; the same as WORKERS when both are set",
    ),
    "DEPLOYMENT_TIMEOUT_IN_MINUTES": Override(
        "how long a create or update may run before 'Workflow timed out'",
        f"a whole number of minutes from {MIN_DEPLOYMENT_TIMEOUT_MINUTES} to {MAX_DEPLOYMENT_TIMEOUT_MINUTES}",
    ),
    "STORAGE_SIZE_IN_GB": Override(
        "the instance's boot volume, which holds the image and the unzipped artifact",
        f"a whole number of GB from {MIN_STORAGE_GB} to {MAX_STORAGE_GB}",
    ),
    "SHM_SIZE": Override(
        "the container's shared memory (/dev/shm), as docker run --shm-size",
        "a size such as 512m or 10g (b, k, m, g), at most the instance's memory",
    ),
    "MODEL_DEPLOY_ENABLE_STREAMING": Override(
        "streams each answer as the model makes it",
        "refused: the scorer answers each call with one JSON body, it does not stream",
    ),
}


def setting_name(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def check_endpoint_paths(environment: Mapping[str, str], where: str = "container.environment") -> list[str]:
    """MODEL_DEPLOY_PREDICT_ENDPOINT and MODEL_DEPLOY_HEALTH_ENDPOINT: each a path, neither the other's
    (the scorer serves /predict and /health besides them, so neither may be those of the other)."""
    problems, paths = [], {}
    for key, kind, default in (
        ("MODEL_DEPLOY_PREDICT_ENDPOINT", "predict", PREDICT_PATH),
        ("MODEL_DEPLOY_HEALTH_ENDPOINT", "health", HEALTH_PATH),
    ):
        value = environment.get(key)
        paths[kind] = {default}
        if value is None:
            continue
        if len(value) > MAX_ENDPOINT_PATH_CHARS or not ENDPOINT_PATH_RE.fullmatch(value):
            problems.append(
                f"{setting_name(where, key)}: {shown(value)} must be a path starting with '/': letters, "
                "digits, '.', '_', '~' and '-' between single '/'s, no part starting with '.', "
                f"at most {MAX_ENDPOINT_PATH_CHARS} characters (leave the key out for {default})"
            )
        else:
            paths[kind].add(value)
    if not problems and (shared := paths["predict"] & paths["health"]):
        both = ", ".join(sorted(shared))
        problems.append(
            f"{setting_name(where, 'MODEL_DEPLOY_PREDICT_ENDPOINT')} and MODEL_DEPLOY_HEALTH_ENDPOINT: "
            f"{both} would be both the predict path and the health path (the scorer also serves "
            f"{PREDICT_PATH} and {HEALTH_PATH}); give each its own path"
        )
    return problems


def check_whole(where: str, key: str, value: str, low: int, high: int, unit: str = "") -> str | None:
    """``value`` the digits of a whole number from ``low`` to ``high``, or why not."""
    if NUMBER_RE.fullmatch(value) and low <= int(value) <= high:
        return None
    return f"{setting_name(where, key)}: {shown(value)} must be a whole number{unit} from {low} to {high}"


def shm_bytes(value: str) -> int | None:
    """The bytes of a --shm-size value ("10g", "512m", "1048576"), or None when it is not one."""
    found = SHM_SIZE_RE.fullmatch(value)
    return int(found[1]) * SHM_UNITS[found[2].lower()] if found else None


def is_triton(environment: Mapping[str, object]) -> bool:
    """A CONTAINER_TYPE=TRITON deployment's environment: OCI maps /predict and the health check onto
    tritonserver's own endpoints, and no gunicorn (nor the scorer) runs."""
    return environment.get("CONTAINER_TYPE") == "TRITON"


def check_overrides(
    environment: Mapping[str, str],
    where: str = "container.environment",
    memory_gbs: object = None,
    triton: bool = False,
) -> list[str]:
    """OCI's configuration overrides (OVERRIDES) in their ranges and forms: one line each for a key,
    its value and what it takes. ``memory_gbs``: the instance's memory, SHM_SIZE's upper bound;
    ``triton``: a CONTAINER_TYPE=TRITON deployment, where OCI maps the endpoints onto Triton's own
    and no gunicorn (nor the scorer) runs."""
    env = {key: str(value) for key, value in environment.items()}
    problems = []
    if triton:
        problems += [
            f"{setting_name(where, key)}: CONTAINER_TYPE=TRITON: OCI routes /predict and the health check "
            "to tritonserver's own endpoints; leave it out"
            for key in ("MODEL_DEPLOY_PREDICT_ENDPOINT", "MODEL_DEPLOY_HEALTH_ENDPOINT")
            if key in env
        ]
        if "WEB_CONCURRENCY" in env:
            problems.append(
                f"{setting_name(where, 'WEB_CONCURRENCY')}: tritonserver runs no gunicorn workers; "
                "its own options go in container.cmd"
            )
    else:
        problems += check_endpoint_paths(env, where)
        counts = {key: env[key] for key in ("WORKERS", "WEB_CONCURRENCY") if key in env}
        found = [check_whole(where, key, value, 1, MAX_WORKERS) for key, value in counts.items()]
        problems += [problem for problem in found if problem]
        if not any(found) and len({int(value) for value in counts.values()}) > 1:
            problems.append(
                f"{where or 'environment'}: WORKERS ({counts['WORKERS']}) and WEB_CONCURRENCY "
                f"({counts['WEB_CONCURRENCY']}) both set the worker count and differ: keep one, "
                "or give both the same value"
            )
    for key, low, high, unit in (
        (
            "DEPLOYMENT_TIMEOUT_IN_MINUTES",
            MIN_DEPLOYMENT_TIMEOUT_MINUTES,
            MAX_DEPLOYMENT_TIMEOUT_MINUTES,
            " of minutes",
        ),
        ("STORAGE_SIZE_IN_GB", MIN_STORAGE_GB, MAX_STORAGE_GB, " of GB"),
    ):
        if key in env and (problem := check_whole(where, key, env[key], low, high, unit)):
            problems.append(problem)
    if "SHM_SIZE" in env:
        size = shm_bytes(env["SHM_SIZE"])
        name = setting_name(where, "SHM_SIZE")
        if size is None:
            problems.append(
                f"{name}: {shown(env['SHM_SIZE'])} must be a size as docker's --shm-size takes it: "
                "a whole number above 0, then b, k, m or g (such as 512m or 10g)"
            )
        elif is_number(memory_gbs, whole=False) and size > memory_gbs * SHM_UNITS["g"]:
            problems.append(
                f"{name}: {env['SHM_SIZE']} is more than the instance's memory ({memory_gbs:g} GB): "
                "/dev/shm is memory; ask for less, or for instances.memory_in_gbs to match"
            )
    if "MODEL_DEPLOY_ENABLE_STREAMING" in env and not triton:
        problems.append(
            f"{setting_name(where, 'MODEL_DEPLOY_ENABLE_STREAMING')}: {shown(env['MODEL_DEPLOY_ENABLE_STREAMING'])} "
            "is refused: the scorer answers each call with one JSON body, it does not stream; leave it out"
        )
    return problems


def platform_of_shape(shape: str) -> str:
    """The image platform a shape runs: linux/arm64 for Ampere (A1, A2 ...), else linux/amd64."""
    return "linux/arm64" if ARM_SHAPE_RE.fullmatch(shape) else "linux/amd64"


def vcpus_per_ocpu(shape: str) -> int:
    """The threads an OCPU of ``shape`` runs: one on Ampere A1 (a core, one thread), two on
    the others (an x86 core with two threads; an Ampere A2 OCPU is two cores)."""
    return 1 if A1_SHAPE_RE.fullmatch(shape) else 2


def check_registry(image: str, region: str) -> str | None:
    """A deployment pulls only from OCI Container Registry, and only from its own region's."""
    host = image.split("/", 1)[0] if "/" in image else "docker.io"
    registry_region = region_of_registry(host)
    if registry_region == region:
        return None
    if registry_region is None:
        return (
            f"container.image: {host} is not OCI Container Registry; a model deployment pulls images "
            f"only from OCIR, and only from its own region's ({ocir_host(region) or region})"
        )
    return (
        f"container.image: {host} is the Container Registry of {registry_region}; a deployment in "
        f"{region} pulls only from its own region's ({ocir_host(region)}): push the image there"
    )


def slugified(text: str) -> str:
    """Lower-case ASCII letters and digits, with one hyphen for each run of anything else."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.replace("'", "").lower()).strip("-")


def slug_of(name: str, owner: str = "") -> str:
    """The project slug derived from a project name: "Churn Model v2" -> "churn-model-v2".

    At most 63 characters; "model-" goes before one that starts with a digit, and a
    name with no ASCII letter or digit gives "model-service". An owner goes at the
    end, whole ("Churn Model", "ana" -> "churn-model-ana"): the name's part is cut
    to make room for it.
    """
    suffix = slugified(owner)[:MAX_OWNER_CHARS].rstrip("-")
    suffix = f"-{suffix}" if suffix else ""
    slug = slugified(name)
    if slug[:1].isdigit():
        slug = f"model-{slug}"
    return (slug[: MAX_SLUG_CHARS - len(suffix)].rstrip("-") or FALLBACK_SLUG) + suffix


# Each check takes an answer as text and returns an error message that names
# the option, the value and the rule, or None when the value is fine. Values are
# shown shortened (``shown``): a rule's message is one line, whatever was sent.


def shown(value: str, limit: int = 40) -> str:
    """``repr`` of a value, cut to ``limit`` characters: control characters escaped, one line."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def check_project_name(value: str) -> str | None:
    unprintable = [char for char in value if unicodedata.category(char) in {"Cc", "Cs", "Zl", "Zp"}]
    if not value.strip() or len(value) > MAX_NAME_CHARS or unprintable:
        return (
            f"project_name: {shown(value)} must be one line of 1 to {MAX_NAME_CHARS} characters, "
            "without control characters"
        )
    return None


def check_port(name: str, value: str) -> str | None:
    if not NUMBER_RE.fullmatch(value):
        return f"{name}: {shown(value)} is not a number; use a port from {PORT_MIN} to {PORT_MAX}"
    port = int(value)
    if not PORT_MIN <= port <= PORT_MAX:
        return f"{name}: {port} is outside {PORT_MIN}..{PORT_MAX}, the ports OCI Model Deployment allows"
    if port in RESERVED_PORTS:
        reserved = ", ".join(map(str, RESERVED_PORTS))
        return f"{name}: {port} is reserved by OCI Model Deployment (ports {reserved} are excluded)"
    return None


def check_slug(value: str) -> str | None:
    if not SLUG_RE.fullmatch(value) or len(value) > MAX_SLUG_CHARS:
        return (
            f"project_slug: {shown(value)} must start with a lower-case letter and hold only "
            f"lower-case letters, digits and hyphens, not ending in one, at most {MAX_SLUG_CHARS} characters"
        )
    return None


def check_owner(value: str) -> str | None:
    if value and (not SLUG_RE.fullmatch(value) or len(value) > MAX_OWNER_CHARS):
        return (
            f"owner: {shown(value)} must be empty or a short name: lower-case letters, digits and "
            f"hyphens, starting with a letter, not ending in a hyphen, at most {MAX_OWNER_CHARS} characters"
        )
    return None


def check_package_name(value: str) -> str | None:
    if value != value.lower() and PACKAGE_RE.fullmatch(value.lower()):
        return f"package_name: {shown(value)} must be lower case"
    if not PACKAGE_RE.fullmatch(value) or keyword.iskeyword(value) or len(value) > MAX_SLUG_CHARS:
        return (
            f"package_name: {shown(value)} is not a valid Python identifier "
            "(lower-case letters, digits and underscores, starting with a letter, not a keyword, "
            f"at most {MAX_SLUG_CHARS} characters)"
        )
    if value in sys.stdlib_module_names or value in TAKEN_MODULES:
        return (
            f"package_name: {value!r} is the name of a module the project imports "
            "(the standard library or a requirement); the server could not import both"
        )
    return None


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> str | None:
    if value not in choices:
        return f"{name}: {shown(value)} is not one of {', '.join(choices)}"
    return None


def check_workers(value: str) -> str | None:
    if not NUMBER_RE.fullmatch(value) or int(value) > MAX_WORKERS:
        return f"workers: {shown(value)} must be a whole number from 1 to {MAX_WORKERS}"
    return None


def check_model_file(value: str) -> str | None:
    if not MODEL_FILE_RE.fullmatch(value):
        return (
            f"model_file: {shown(value)} must be a file name without a path: letters, digits, "
            "'_', '.' and '-', not starting with '.' or '-', at most 128 characters"
        )
    return None


def check_region(value: str) -> str | None:
    if value not in REGIONS:
        return (
            f"oci_region: {shown(value)} is not a known OCI region identifier "
            "(for example us-ashburn-1 or eu-frankfurt-1)"
        )
    return None


# The template's default namespace (its option's default: a template test holds them equal): a
# placeholder, never a tenancy's, so make settings and make doctor name it.
EXAMPLE_NAMESPACE = "mytenancy"
NAMESPACE_FIX = "`oci os ns get` prints your tenancy's (or the console's Tenancy details)"


def check_namespace(value: str) -> str | None:
    if not NAMESPACE_RE.fullmatch(value) or len(value) > MAX_SLUG_CHARS:
        return (
            f"tenancy_namespace: {shown(value)} must hold only lower-case letters and digits, "
            f"at most {MAX_SLUG_CHARS} characters"
        )
    return None


def check_repository(value: str) -> str | None:
    if len(value) > 255 or not REPOSITORY_RE.fullmatch(value):
        return (
            f"ocir_repository: {shown(value)} is not a valid repository name (lower-case letters and "
            "digits, with '.', '_', '-' or '/' between them, at most 255 characters)"
        )
    return None


def check_tag(value: str) -> str | None:
    if not TAG_RE.fullmatch(value):
        return (
            f"image_tag: {shown(value)} is not a valid image tag (letters, digits, '_', '.' and '-', "
            "not starting with '.' or '-', at most 128 characters)"
        )
    return None


def check_freeform_tags(tags: object, where: str = "freeform_tags") -> list[str]:
    """OCI's limits on free-form tags: a table of text values, its keys, and how many."""
    if not isinstance(tags, Mapping):
        return [f"{where}: {shown(str(tags))} must be a table of keys and text values"]
    problems = []
    if len(tags) > MAX_FREEFORM_TAGS:
        problems.append(f"{where}: {len(tags)} tags; a resource takes at most {MAX_FREEFORM_TAGS}")
    for key, value in tags.items():
        if not key or len(key) > MAX_TAG_KEY_CHARS or not key.isprintable() or any(c in key for c in ". "):
            problems.append(
                f"{where}: the key {shown(key)} must be 1 to {MAX_TAG_KEY_CHARS} printable characters, "
                "without periods or spaces"
            )
        elif not isinstance(value, str) or len(value) > MAX_TAG_VALUE_CHARS or not value.isprintable():
            problems.append(
                f"{where}.{key}: {shown(str(value))} must be text of at most {MAX_TAG_VALUE_CHARS} "
                "printable characters"
            )
    return problems


# The rule of each option in plain words (the template README's option table).
RULE_TEXT: dict[str, str] = {
    "project_name": f"free text, one line, at most {MAX_NAME_CHARS} characters",
    "owner": f"empty, or a short name: lower-case letters, digits and hyphens, starting with a letter, at most {MAX_OWNER_CHARS}",
    "project_slug": f"lower-case letters, digits and hyphens, starting with a letter, at most {MAX_SLUG_CHARS}",
    "package_name": "a lower-case Python identifier starting with a letter, not a keyword, not a module it imports",
    "framework": " or ".join(FRAMEWORKS),
    "server": " or ".join(SERVERS),
    "python_version": ", ".join(PYTHON_VERSIONS),
    "server_port": f"{PORT_MIN}..{PORT_MAX}, not {', '.join(map(str, RESERVED_PORTS))}",
    "workers": f"a whole number from 1 to {MAX_WORKERS}",
    "model_file": "a file name: letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-'",
    "oci_region": "an OCI region identifier known to the OCI SDK; gives the registry host",
    "tenancy_namespace": f"lower-case letters and digits, at most {MAX_SLUG_CHARS}",
    "ocir_repository": "a registry repository name: lower case, digits, '.', '_', '-', '/'",
    "image_tag": "a Docker tag: letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-'",
}

CHECKS: dict[str, Callable[[str], str | None]] = {
    "project_name": check_project_name,
    "owner": check_owner,
    "project_slug": check_slug,
    "package_name": check_package_name,
    "framework": lambda value: check_choice("framework", value, FRAMEWORKS),
    "server": lambda value: check_choice("server", value, SERVERS),
    "python_version": lambda value: check_choice("python_version", value, PYTHON_VERSIONS),
    "server_port": lambda value: check_port("server_port", value),
    "workers": check_workers,
    "model_file": check_model_file,
    "oci_region": check_region,
    "tenancy_namespace": check_namespace,
    "ocir_repository": check_repository,
    "image_tag": check_tag,
}


def validate_answers(answers: Mapping[str, object]) -> list[str]:
    """One message for each rule that the template answers break."""
    return [
        error for name, check in CHECKS.items() if name in answers and (error := check(str(answers[name])))
    ]


# A deployment's instances, autoscaling and OCIDs, as the pre-flight of `make deploy-config`
# checks them (deploy_config.py): no number OCI would refuse is sent. Where each limit comes from:
# - the OCI Python SDK's models (oci.data_science.models, the docstrings of 2.189):
#   ModelDeploymentInstanceShapeConfigDetails gives the OCPUs and memory of the flex shapes it
#   names (FLEX_SHAPES); AutoScalingPolicy.cool_down_in_seconds: "the minimum value is 300
#   seconds"; and each field's type: int (counts, thresholds, bandwidth, cool-down) or float
#   (OCPUs, memory);
# - OCI Compute's shape names, as ModelDeploymentShapeSummary lists a deployment's shapes:
#   VM or BM, a series (Standard, Optimized, DenseIO, GPU, HPC) with its generation, the model
#   (E4, A1, A10 ...), then Flex or the size: VM.Standard.E4.Flex, VM.Standard2.1, VM.GPU.A10.2;
# - a deployment's load balancer is a flexible one of the Load Balancing service: from 10 Mbps
#   (the deployment's default) to 8000 (the SDK's oci.load_balancer.models.ShapeDetails);
# - a CPU-utilization threshold is a percentage, 1 to 100, and scaling in must start under
#   the scale-out threshold (else every scale-out is undone);
# - counts go to OCI as 32-bit integers (the SDK's Java and .NET models): the upper bound of a
#   count here; the tenancy's service limits stop lower, and OCI names the limit it hits.
MAX_API_INT = 2**31 - 1
MIN_COOL_DOWN_SECONDS = 300
MIN_BANDWIDTH_MBPS, MAX_BANDWIDTH_MBPS = DEFAULT_BANDWIDTH_MBPS, 8000
MAX_PERCENT = 100
# Flex shape: (most OCPUs, most GB of memory); each takes at least 1 OCPU and 6 GB.
FLEX_SHAPES: dict[str, tuple[int, int]] = {
    "VM.Standard.E3.Flex": (64, 1024),
    "VM.Standard.E4.Flex": (64, 1024),
    "VM.Standard3.Flex": (32, 512),
    "VM.Optimized3.Flex": (18, 256),
}
MIN_FLEX_MEMORY_GBS = 6
# Any other shape (A1, E5, GPU ...): OCI checks its own sizes; this bound, above every OCI
# shape, only stops a typo such as 1e9.
MOST_OF_ANY_SHAPE = (256, 4096)
SHAPE_RE = re.compile(
    r"(?:VM|BM)\.(?:Standard|Optimized|DenseIO|GPU|HPC)[0-9]*(?:\.[A-Za-z0-9][A-Za-z0-9-]*)*\.(?:Flex|[0-9]+)"
)
# ocid1.<resource type>.<realm>.[region][.future use].<unique ID>
OCID_RE = re.compile(r"ocid1\.(?P<kind>[a-z0-9]+)\.[a-z0-9-]+\.[a-z0-9-]*(?:\.[a-z0-9-]*)?\.[a-z0-9]+")


def is_number(value: object, whole: bool = True) -> bool:
    """An int (never a bool: TOML's true is no count), or, unless ``whole``, a finite float."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return not whole and isinstance(value, float) and -float("inf") < value < float("inf")


def check_range(
    name: str, value: object, low: int, high: int, whole: bool = True, of: str = ""
) -> str | None:
    """``value`` a number from ``low`` to ``high`` (a whole one when ``whole``), or why not."""
    if is_number(value, whole) and low <= value <= high:
        return None
    kind = "a whole number" if whole else "a number"
    return f"{name}: {shown(str(value))} must be {kind} from {low} to {high}{of}"


def check_shape(shape: object) -> str | None:
    if isinstance(shape, str) and SHAPE_RE.fullmatch(shape):
        return None
    return (
        f"instances.shape: {shown(str(shape))} is not an OCI shape name "
        "(such as VM.Standard.E4.Flex, VM.Standard.A1.Flex or VM.GPU.A10.1)"
    )


def check_instances(instances: Mapping[str, object]) -> list[str]:
    """The shape, its OCPUs and memory, the instance count and the load balancer's bandwidth."""
    shape = str(instances.get("shape"))
    most_ocpus, most_memory = FLEX_SHAPES.get(shape, MOST_OF_ANY_SHAPE)
    least_memory, of = (MIN_FLEX_MEMORY_GBS, f" on {shape}") if shape in FLEX_SHAPES else (1, "")
    found = [
        check_shape(instances.get("shape")),
        check_range("instances.ocpus", instances.get("ocpus"), 1, most_ocpus, whole=False, of=of),
        check_range(
            "instances.memory_in_gbs", instances.get("memory_in_gbs"), least_memory, most_memory, False, of
        ),
        check_range("instances.count", instances.get("count"), 1, MAX_API_INT),
        check_range(
            "instances.bandwidth_mbps",
            instances.get("bandwidth_mbps"),
            MIN_BANDWIDTH_MBPS,
            MAX_BANDWIDTH_MBPS,
        ),
    ]
    return [problem for problem in found if problem]


def check_autoscaling(autoscaling: Mapping[str, object], count: object) -> list[str]:
    """Autoscaling as OCI takes it: ``enabled`` true or false, every number in range, and
    consistent: minimum <= maximum, the instance count between them, scale-in under scale-out."""
    enabled = autoscaling.get("enabled")
    found = [
        None
        if isinstance(enabled, bool)
        else f"autoscaling.enabled: {shown(str(enabled))} must be true or false"
    ]
    found += [
        check_range(f"autoscaling.{name}", autoscaling.get(name), 1, MAX_API_INT)
        for name in ("minimum_instances", "maximum_instances")
    ]
    found += [
        check_range(f"autoscaling.{name}", autoscaling.get(name), 1, MAX_PERCENT)
        for name in ("cpu_scale_out_percent", "cpu_scale_in_percent")
    ]
    seconds = autoscaling.get("cool_down_seconds")
    found.append(check_range("autoscaling.cool_down_seconds", seconds, MIN_COOL_DOWN_SECONDS, MAX_API_INT))
    if problems := [problem for problem in found if problem]:
        return problems
    low, high = autoscaling["minimum_instances"], autoscaling["maximum_instances"]
    scale_in, scale_out = autoscaling["cpu_scale_in_percent"], autoscaling["cpu_scale_out_percent"]
    if low > high:
        problems.append(f"autoscaling: minimum_instances ({low}) is over maximum_instances ({high})")
    elif enabled and is_number(count) and not low <= count <= high:
        problems.append(
            f"instances.count: {count}, the initial count, must be from autoscaling.minimum_instances "
            f"({low}) to maximum_instances ({high})"
        )
    if scale_in >= scale_out:
        problems.append(
            f"autoscaling: cpu_scale_in_percent ({scale_in}) must be under cpu_scale_out_percent ({scale_out})"
        )
    return problems


def check_ocid(name: str, value: object, kinds: tuple[str, ...], unset: str = "") -> str | None:
    """``value`` the OCID of one of ``kinds``, matched whole (a newline after it is refused). Empty,
    it is not set yet: ``unset`` says where to set it and where the OCID comes from."""
    kind = " or ".join(kinds)
    if value in ("", None):
        expected = unset or f"the OCID of a {kind} (ocid1.{kinds[0]}.oc1...) is expected"
        return f"{name}: not set yet; {expected}"
    found = OCID_RE.fullmatch(value) if isinstance(value, str) else None
    if found and found["kind"] in kinds:
        return None
    return f"{name}: {shown(str(value))} is not the OCID of a {kind} (ocid1.{kinds[0]}.oc1...)"
