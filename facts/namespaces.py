"""Every Kubernetes namespace the program creates or deploys into, in one place.

The components import their namespace from here, and ``rules.addons.inference_namespace``
refuses an inference namespace equal to any of them (the program would declare a second Namespace
object of that name, or put the model services beside an add-on). ``tests/test_hardening.py``
checks that every Namespace a full plan declares is listed here.
"""

from __future__ import annotations

KAITO_NAMESPACE = "kaito-workspace"  # components/kaito.py (mode: helm)
GPU_PROVISIONER_NAMESPACE = "gpu-provisioner"  # components/kaito.py (nodeProvisioner: gpu-provisioner)
HTTP_ADDON_NAMESPACE = "keda"  # components/keda.py (the KEDA HTTP add-on)
GPU_OPERATOR_NAMESPACE = "gpu-operator"  # components/gpu_pools.py (driver: operator)
DEVICE_PLUGIN_NAMESPACE = "nvidia-device-plugin"  # components/gpu_pools.py (driver: managed)

# Namespaces the program creates (a Namespace object) -> the component that owns it.
PROGRAM_NAMESPACES = {
    KAITO_NAMESPACE: "the KAITO chart",
    GPU_PROVISIONER_NAMESPACE: "KAITO's gpu-provisioner",
    HTTP_ADDON_NAMESPACE: "the KEDA HTTP add-on",
    GPU_OPERATOR_NAMESPACE: "the NVIDIA GPU Operator",
    DEVICE_PLUGIN_NAMESPACE: "the NVIDIA device plugin",
}
# Namespaces Kubernetes and AKS own (the KEDA add-on, ama-metrics and CoreDNS run in kube-system).
CLUSTER_NAMESPACES = {
    "default": "Kubernetes",
    "kube-system": "Kubernetes and the AKS add-ons (KEDA, ama-metrics, CoreDNS)",
    "kube-public": "Kubernetes",
    "kube-node-lease": "Kubernetes",
    "gatekeeper-system": "Azure Policy's Gatekeeper",
    "aks-command": "AKS run-command",
    "app-routing-system": "the AKS application routing add-on",
    # The AKS Istio add-on: istiod (istio-deploy-addon.md line 112) and its own ingress gateways
    # (istio-deploy-ingress.md line 39), MicrosoftDocs/azure-aks-docs @ fb060abe.
    "aks-istio-system": "the AKS Istio add-on (istiod)",
    "aks-istio-ingress": "the AKS Istio add-on's ingress gateways",
}
RESERVED_NAMESPACES = {**CLUSTER_NAMESPACES, **PROGRAM_NAMESPACES}
