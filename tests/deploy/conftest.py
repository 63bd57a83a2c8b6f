"""Fixtures of the deployment checks (helpers live in support.py)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import yaml

from .support import K8S, OVERLAYS, kustomize, registered_service_names


@pytest.fixture(scope="session")
def registered() -> set[str]:
    names = registered_service_names()
    assert names, "no service is registered in the ring.services entry-point group"
    return names


@pytest.fixture(scope="session")
def gateway_render(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The base plus the not-yet-enabled gateway component, as an overlay would include it."""
    root = tmp_path_factory.mktemp("gateway-overlay")
    # kustomize refuses absolute paths for bases and components, relative ones may climb out.
    base = os.path.relpath(K8S / "base", root)
    component = os.path.relpath(K8S / "components" / "gateway", root)
    (root / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [base],
                "components": [component],
            }
        )
    )
    return kustomize(root)


@pytest.fixture(scope="session")
def renders(gateway_render: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rendered manifests by target: base, each overlay, and base + gateway component."""
    rendered = {"base": kustomize(K8S / "base")}
    rendered.update({name: kustomize(K8S / "overlays" / name) for name in OVERLAYS})
    rendered["gateway"] = gateway_render
    return rendered
