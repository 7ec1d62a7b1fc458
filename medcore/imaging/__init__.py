"""Image diagnosis: decode PNG/JPEG/DICOM (``decode``, ``dicom``), the CNN ensemble and Grad-CAM (``cnn``),
the model the registry loads (``model``), MedMNIST readers (``data``), training (``train``),
labelled-file evaluation (``evaluate``) and the heatmap figure (``plots``).
"""
