"""Information extraction from the biomedical literature: chemical and disease mentions with MeSH ids,
and which chemical induced which disease (BC5CDR's CID relations), with the evidence sentences.

``data.py`` reads PubTator and uploads and splits text into sentences and tokens (exact offsets);
``features.py`` holds the tags, the lexicon of training mentions and Viterbi decoding; ``network.py``
the Keras BiLSTM tagger; ``embeddings.py`` word vectors learnt here from unlabelled text; ``ner.py``
runs the tagger over texts; ``normalise.py`` gives MeSH ids (abbreviations resolved in the text);
``relations.py`` scores chemical-disease pairs; ``metrics.py`` the BC5CDR measures; ``model.py`` the
loaded model; ``train.py`` the trainer; ``evaluate.py`` evaluation on a PubTator file; ``plots.py``
the highlighted text and charts.
"""
