"""The paper's published numbers (Animated-ART, Tables 1, 2 and 4), printed beside ours.

They were measured on the paper's own test set, so they frame our rows rather than
compete with them: compare engines within one run of the harness.
"""

from __future__ import annotations

#: setting -> method -> metric -> value. Table 1 has three settings, Table 2 is "group".
PUBLISHED: dict[str, dict[str, dict[str, float]]] = {
    "layer": {
        "CogVideoX": {"FVD": 484.82, "PSNR": 14.97, "SSIM": 0.71, "LPIPS": 0.33},
        "HunyuanI2V": {"FVD": 310.73, "PSNR": 13.61, "SSIM": 0.69, "LPIPS": 0.42},
        "FramePack": {"FVD": 151.42, "PSNR": 16.74, "SSIM": 0.77, "LPIPS": 0.23},
        "DMDL": {"FVD": 87.17, "PSNR": 20.65, "SSIM": 0.85, "LPIPS": 0.12},
    },
    "joint": {
        "CogVideoX": {"FVD": 463.30, "PSNR": 15.07, "SSIM": 0.72, "LPIPS": 0.33},
        "HunyuanI2V": {"FVD": 267.65, "PSNR": 14.17, "SSIM": 0.69, "LPIPS": 0.39},
        "FramePack": {"FVD": 142.91, "PSNR": 17.10, "SSIM": 0.79, "LPIPS": 0.21},
        "DMDL": {"FVD": 85.07, "PSNR": 20.66, "SSIM": 0.86, "LPIPS": 0.12},
    },
    "poster": {
        "CogVideoX": {"FVD": 524.20, "PSNR": 13.19, "SSIM": 0.59, "LPIPS": 0.42},
        "HunyuanI2V": {"FVD": 243.84, "PSNR": 13.67, "SSIM": 0.57, "LPIPS": 0.39},
        "FramePack": {"FVD": 133.79, "PSNR": 16.45, "SSIM": 0.67, "LPIPS": 0.16},
        "DMDL": {"FVD": 72.56, "PSNR": 22.71, "SSIM": 0.89, "LPIPS": 0.08},
    },
    "group": {
        "CogVideoX": {"FVD": 767.87, "PSNR": 15.2, "SSIM": 0.73, "LPIPS": 0.31},
        "HunyuanI2V": {"FVD": 465.17, "PSNR": 13.40, "SSIM": 0.67, "LPIPS": 0.44},
        "FramePack": {"FVD": 126.50, "PSNR": 18.43, "SSIM": 0.83, "LPIPS": 0.13},
        "DMDL": {"FVD": 63.25, "PSNR": 23.79, "SSIM": 0.91, "LPIPS": 0.06},
    },
}

#: Table 4, the positional-embedding ablation (group setting): one DMDL checkpoint per row.
PUBLISHED_ROPE_ABLATION: dict[str, dict[str, float]] = {
    "3D-RoPE": {"FVD": 86.79, "PSNR": 23.11, "SSIM": 0.88, "LPIPS": 0.07},
    "3D-RoPE+AM": {"FVD": 68.22, "PSNR": 23.62, "SSIM": 0.90, "LPIPS": 0.06},
    "4D-RoPE": {"FVD": 63.25, "PSNR": 23.79, "SSIM": 0.91, "LPIPS": 0.06},
}

#: Which table of the paper each setting reproduces.
TABLE_OF_SETTING = {"layer": "Table 1, layer by layer", "joint": "Table 1, joint layers",
                    "poster": "Table 1, poster", "group": "Table 2, group action"}
