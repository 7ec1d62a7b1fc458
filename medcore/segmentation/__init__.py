"""Breast-lesion segmentation on ultrasound: where the lesion is, its outline, area and shape.

``network.py`` is the Keras U-Net with its Dice + cross-entropy loss; ``data.py`` reads BUSI's
npz (and labelled uploads of the same layout); ``measure.py`` turns a mask into area, longest
diameter, circularity and margin irregularity; ``model.py`` the loaded model (resizing, test-time
flip, threshold, small blobs removed, domain check); ``train.py`` the trainer (threshold and blob
size chosen on BreastMNIST's val images); ``evaluate.py`` Dice / IoU on a labelled npz; ``plots.py``
the outline figure and the Dice distribution.
"""
