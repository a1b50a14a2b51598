"""The traffic-day simulation (``python -m tools.simulate``): KEDA, the HPA, the cluster autoscaler or
Karpenter, and KAITO's nodes replayed over a day and a week of demand, from the stack's own plan.

Pure and deterministic; no Pulumi, no plotting (``tools.simulate_plot`` draws, on demand only).
"""
