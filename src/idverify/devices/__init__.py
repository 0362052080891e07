"""Device drivers (GA 467 ID reader, ZhianTec fingerprint sensor, camera, PC/SC eMRTD) and the device manager.

Wire protocols live in ``ga467``, ``zhiantec``, ``pcsc``, ``camera`` (over ``serial_link``); ``registry`` says what a
driver is, ``drivers`` lists the built-in ones, ``slots`` serialises and reconnects serial devices, ``health`` words
their state, and ``manager`` is the async facade the API, the workflow and the CLI use. Devices know nothing of
patients: they return documents, images and frames, and raise :class:`idverify.errors.DeviceError` with stable codes.
Simulators are not here: the runtime injects them (:mod:`idverify.device_wiring`).
"""
