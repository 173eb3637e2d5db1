"""A tiny face-recognition network written to ONNX, standing in for an ArcFace exported by InsightFace
(which maps (N, 3, 112, 112) faces to a 512-D embedding) in the tests of `OnnxIdentityEncoder`."""
import torch
from torch import nn


def write_tiny_face_onnx(path, size: int = 32, dim: int = 16) -> nn.Module:
    """Export an untrained (N, 3, size, size) -> (N, dim) network to ``path``; returns the network."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                        nn.Linear(32, dim)).eval()
    with torch.no_grad():
        program = torch.onnx.export(net, (torch.zeros(2, 3, size, size),), dynamo=True, input_names=["face"],
                                    output_names=["embedding"], dynamic_shapes=({0: torch.export.Dim("batch")},),
                                    verbose=False)
    program.save(str(path))
    return net
