"""Device drivers (GA 467 ID reader, ZhianTec fingerprint sensor, camera, PC/SC eMRTD) and the device manager.

Devices know nothing of patients: they return documents, images and frames, and raise
:class:`idverify.errors.DeviceError` with SPEC codes.
"""
