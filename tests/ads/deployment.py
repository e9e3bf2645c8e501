"""What an ADS user writes to deploy the project's image, run in ADS's own venv for
tests/test_ads_deployment.py.

    <ads-venv>/bin/python deployment.py IMAGE WEB_CONCURRENCY

Builds a ``ModelDeployment`` as ADS's docs show for a BYOC container
(``ModelDeploymentInfrastructure.with_web_concurrency``, ``ModelDeploymentContainerRuntime``)
and prints, as JSON, the body ADS would send to create it (ADS's own
``_build_model_deployment_details``; nothing is sent). Offline: the request signer is stood in
for as in notebook.py.
"""

from __future__ import annotations

import json
import sys

import ads
import oci
from ads.model.deployment import (
    ModelDeployment,
    ModelDeploymentContainerRuntime,
    ModelDeploymentInfrastructure,
)
from notebook import UnsignedSigner


def main(image: str, web_concurrency: int) -> None:
    ads.set_auth(signer=UnsignedSigner(), config={"region": "us-ashburn-1"})
    infrastructure = (
        ModelDeploymentInfrastructure()
        .with_compartment_id("ocid1.compartment.oc1..ads")
        .with_project_id("ocid1.datascienceproject.oc1.iad.ads")
        .with_shape_name("VM.Standard.E4.Flex")
        .with_shape_config_details(ocpus=1, memory_in_gbs=16)
        .with_replica(1)
        .with_bandwidth_mbps(10)
        .with_web_concurrency(web_concurrency)
    )
    runtime = (
        ModelDeploymentContainerRuntime()
        .with_image(image)
        .with_image_digest("sha256:" + "ab" * 32)
        .with_server_port(8080)
        .with_health_check_port(8080)
        .with_env({"LOG_LEVEL": "INFO"})
        .with_model_uri("ocid1.datasciencemodel.oc1.iad.ads")  # a model in the catalog: no upload
    )
    deployment = (
        ModelDeployment().with_display_name("ads").with_infrastructure(infrastructure).with_runtime(runtime)
    )
    print(json.dumps(oci.util.to_dict(deployment._build_model_deployment_details())))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
