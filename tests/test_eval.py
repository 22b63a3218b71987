"""Detection mAP as ultralytics defines it: hand-computed cases."""
import numpy as np
import pytest

from trtnn.eval import DetectionMetrics, ap_from_pr, box_iou, match_predictions


def test_box_iou():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]])
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 0, 1]], atol=1e-6)


def test_ap_of_a_perfect_detector_is_0995():
    """The 101-point trapezoid ends at recall 1 with precision 0 (the appended sentinel): 0.995 is the maximum."""
    assert ap_from_pr(np.array([0.5, 1.0]), np.array([1.0, 1.0])) == pytest.approx(0.995)


def test_ap_by_hand():
    # 3 ground truths; by confidence: TP, FP, TP, TP -> recall 1/3, 1/3, 2/3, 1; precision 1, 1/2, 2/3, 3/4.
    # Envelope: 1 up to recall 1/3, then 3/4. 101 points: 0.33 + (1 + .75) / 2 * .01 + 65 * .75 * .01 + .75 / 2 * .01
    ap = ap_from_pr(np.array([1, 1, 2, 3]) / 3, np.array([1, 1 / 2, 2 / 3, 3 / 4]))
    assert ap == pytest.approx(0.33 + 0.00875 + 0.4875 + 0.00375)


def test_match_predictions_follows_the_original_greedy_order():
    # gt 0 = A, gt 1 = B; p0 overlaps A (IoU .6) and B (.7), p1 overlaps B (.9): p0 (higher confidence) claims its
    # best ground truth B wherever .7 reaches the threshold; above .7 B stays free for p1.
    iou = np.array([[0.6, 0.0], [0.7, 0.9]])
    correct = match_predictions(np.array([0, 0]), np.array([0, 0]), iou)
    assert correct[:, 0].tolist() == [True, False]  # IoU 0.5
    assert correct[:, 4].tolist() == [True, False]  # 0.7: p0 still matches B
    assert correct[:, 5].tolist() == [False, True]  # 0.75: only p1 reaches B
    assert correct[:, 8].tolist() == [False, True]  # IoU >= 0.9 counts
    assert not correct[:, 9].any()
    # a class mismatch never matches
    assert not match_predictions(np.array([1, 1]), np.array([0, 0]), iou).any()


def test_a_claimed_ground_truth_leaves_the_next_best_to_later_predictions():
    # p0 claims A (.9); p1's best is A (.8) too, but A is taken, so p1 claims B (.7) where .7 reaches the threshold
    # (ultralytics 8.4 / COCO; before 8.4 p1 was a false positive since its best ground truth was taken).
    iou = np.array([[0.9, 0.8], [0.0, 0.7]])
    correct = match_predictions(np.array([0, 0]), np.array([0, 0]), iou)
    assert correct[:, 0].tolist() == [True, True] and correct[:, 4].tolist() == [True, True]
    assert correct[:, 5].tolist() == [True, False]


def test_ap_gives_no_credit_beyond_the_last_recall_reached():
    # one of two ground truths found at precision 1: the envelope is 1 below recall .5 and 0 from .5 on (np.interp
    # takes the last of the repeated recall .5), so 49 full steps and one from 1 down to 0, not a line from (.5, 1)
    # down to (1, 0) as before 8.4 (0.745).
    assert ap_from_pr(np.array([0.5]), np.array([1.0])) == pytest.approx(0.495)


def test_predictions_are_matched_in_confidence_order_whatever_the_input_order():
    gt = np.array([[0, 0, 10, 10]])
    m = DetectionMetrics(nc=1)
    m.update(np.array([[0, 0, 10, 9], [0, 0, 10, 10]]), [0.5, 0.9], [0, 0], gt, [0])
    assert m._tp[0][:, 9].tolist() == [True, False]  # the 0.9 box (exact) is matched first and listed first


def test_metrics_per_class_and_missed_classes():
    m = DetectionMetrics(nc=3)
    gt = np.array([[0, 0, 10, 10], [20, 20, 40, 40]])
    m.update(gt, [0.9, 0.8], [0, 1], gt, [0, 1])  # image 1: both found
    m.update(np.zeros((0, 4)), [], [], np.array([[0, 0, 5, 5]]), [2])  # image 2: class 2 missed entirely
    aps = m.per_class()
    assert sorted(aps) == [0, 1, 2]
    np.testing.assert_allclose(aps[0], 0.995)
    np.testing.assert_allclose(aps[2], 0.0)
    r = m.results()
    assert r["mAP50-95"] == pytest.approx(0.995 * 2 / 3) and r["mAP50"] == pytest.approx(0.995 * 2 / 3)
    assert (r["images"], r["detections"]) == (2, 2)
