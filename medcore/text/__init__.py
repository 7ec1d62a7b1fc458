"""Free-text classification: the model the registry loads (``model``, Keras layers in ``layers``),
identifier masking (``deid``), data sets and labelled CSVs (``data``, ``recipes``), the network and its
training (``network``, ``train``), evaluation (``evaluate``) and the word-highlight figure (``plots``).
"""
