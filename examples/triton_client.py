"""Send one image to a Triton server serving a trtnn end-to-end detection engine (from `trtnn export-triton`).

    trtnn build yolov8n --weights yolov8n.pt --end2end --preprocess --orig-size --max-batch 8 -o yolo.plan
    trtnn export-triton yolo.plan --repo models --name yolo
    docker run --gpus all -p 8000:8000 -v $PWD/models:/models nvcr.io/nvidia/tritonserver:<yy.mm>-py3 \
        tritonserver --model-repository=/models
    python examples/triton_client.py image.jpg --url localhost:8000 --model yolo --imgsz 640

Needs `pip install tritonclient[http] opencv-python-headless` (not trtnn dependencies). Not run in CI (no server)."""
import argparse

import cv2
import numpy as np


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("image")
    p.add_argument("--url", default="localhost:8000")
    p.add_argument("--model", default="yolo")
    p.add_argument("--imgsz", type=int, default=640)
    args = p.parse_args()
    import tritonclient.http as http

    from trtnn.eval.yolo_data import letterbox

    image = cv2.imread(args.image)
    boxed, _ = letterbox(image, (args.imgsz, args.imgsz))
    client = http.InferenceServerClient(args.url)
    inputs = [http.InferInput("images", [1, *boxed.shape], "UINT8"), http.InferInput("orig_size", [1, 2], "INT32")]
    inputs[0].set_data_from_numpy(boxed[None])
    inputs[1].set_data_from_numpy(np.array([image.shape[:2]], np.int32))
    names = ["num_dets", "det_boxes", "det_scores", "det_classes"]
    result = client.infer(args.model, inputs, outputs=[http.InferRequestedOutput(n) for n in names])
    n = int(result.as_numpy("num_dets")[0, 0])
    for box, score, cls in zip(result.as_numpy("det_boxes")[0, :n], result.as_numpy("det_scores")[0, :n],
                               result.as_numpy("det_classes")[0, :n]):
        print(int(cls), f"{score:.2f}", [round(float(v), 1) for v in box])


if __name__ == "__main__":
    main()
