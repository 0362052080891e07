"""Identity documents: Chinese ID-card text blocks, MRZ and the eMRTD chip protocol."""
