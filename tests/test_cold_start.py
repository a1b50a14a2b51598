"""The predicted cold start's arithmetic (``sizing.cold_start``) against hand-computed cases."""

from __future__ import annotations

import pytest

from facts.cold_start import files_premium_mib_per_s, node_family
from sizing.cold_start import predict, predict_seed, seed_wait_seconds


def test_files_premium_throughput_follows_the_provisioned_v1_formula() -> None:
    # the 140 GB model: a 260 GiB share; 100 + ceil(10.4) + ceil(15.6) = 127, egress 60 + 16 = 76
    fig = files_premium_mib_per_s(260)
    assert (fig.low, fig.high, fig.basis) == (76, 127, "sourced")
    assert (files_premium_mib_per_s(100).low, files_premium_mib_per_s(100).high) == (66, 110)


def test_node_figures_per_family() -> None:
    assert node_family("Standard_NC96ads_A100_v4")[0] == "NC A100 v4"
    assert node_family("Standard_NC80adis_H100_v5")[0] == "NCads H100 v5"
    assert node_family("Standard_ND96isr_H200_v5")[0] == "ND (8 GPUs, InfiniBand)"
    assert node_family("Standard_NC4as_T4_v3")[0] == "small NC/NV (T4, V100, A10)"
    assert (
        node_family("Standard_NC96ads_A100_v4")[1].low,
        node_family("Standard_NC96ads_A100_v4")[1].high,
    ) == (
        300,
        600,
    )


def test_todays_path_a_130_gib_model_from_its_files_share_on_a_new_nc_a100_node() -> None:
    c = predict(sku_name="Standard_NC96ads_A100_v4", weights_gib=130, path="files-nfs", share_gib=260)
    # node 300-600; image 10240 MiB / 200-35 = 51.2-292.57; weights 133120 MiB / 127-76 = 1048.19-1751.58;
    # server 60-300: 1459.4-2944.15 s
    assert [(round(p.low_s, 2), round(p.high_s, 2)) for p in c.parts] == [
        (300, 600),
        (51.2, 292.57),
        (1048.19, 1751.58),
        (60, 300),
    ]
    assert (c.low_seconds, c.high_seconds) == (1460, 2945)
    assert c.part("weights").basis == "sourced" and c.part("image").basis == "assumed"


def test_a_deallocated_node_keeps_its_image_and_blob_streams_the_weights() -> None:
    c = predict(
        sku_name="Standard_ND96isr_H100_v5",
        weights_gib=61,
        path="blob-stream",
        deallocated=True,
        compile_cache=True,
    )
    # node 120-360, image 0 (both images kept); marker check 5-30; weights 62464 MiB / 3900-500 =
    # 16.02-124.93; server (persistent cache) 30-300: 171.02-814.93 s
    assert c.part("image").high_s == 0 and c.part("node").high_s == 360
    assert (c.part("check").low_s, c.part("check").high_s) == (5, 30)
    assert (c.low_seconds, c.high_seconds) == (172, 815)


def test_a_new_node_streaming_from_blob_also_pulls_the_wait_containers_image() -> None:
    c = predict(sku_name="Standard_NC24ads_A100_v4", weights_gib=30, path="blob-stream")
    # vLLM 10 GiB + azure-cli 0.5 GiB = 10752 MiB at 200-35 MiB/s = 53.76-307.2 s
    assert (round(c.part("image").low_s, 2), round(c.part("image").high_s, 2)) == (53.76, 307.2)
    assert [p.name for p in c.parts] == ["node", "image", "check", "weights", "server"]
    files = predict(sku_name="Standard_NC24ads_A100_v4", weights_gib=30, path="files-nfs", share_gib=100)
    assert "check" not in [p.name for p in files.parts]  # no init container off the Blob path


def test_the_seeding_jobs_time_and_the_pods_wait_for_it() -> None:
    seed = predict_seed(30, 100)
    # 30 GiB = 30720 MiB; share of 100 GiB: 66-110 MiB/s. start 30-60 s; images 10752 MiB at 200-35 MiB/s
    # = 53.76-307.2; down at min(hub 40-250, share) = 40-110: 279.27-768; up at min(az 30-200, share) =
    # 30-110: 279.27-1024. low 30 + 53.76 + 279.27 + 279.27 = 642.31; high 60 + 307.2 + 768 + 1024 = 2159.2
    assert (round(seed.low_s, 2), round(seed.high_s, 2)) == (642.31, 2159.2)
    # the wait: 2159.2 x 1.5 = 3238.8 s, in whole minutes: 54 min
    assert seed_wait_seconds(seed) == 3240


def test_local_nvme_on_a_new_node() -> None:
    c = predict(sku_name="Standard_NC24ads_A100_v4", weights_gib=30, path="local-nvme")
    # weights 30720 MiB / 3000-1000 = 10.24-30.72
    assert (round(c.part("weights").low_s, 2), round(c.part("weights").high_s, 2)) == (10.24, 30.72)
    assert c.row()["parts"]["weights"]["basis"] == "assumed"


def test_deallocation_and_local_nvme_do_not_combine() -> None:
    with pytest.raises(ValueError, match="NVMe is wiped"):
        predict(sku_name="Standard_NC24ads_A100_v4", weights_gib=30, path="local-nvme", deallocated=True)
