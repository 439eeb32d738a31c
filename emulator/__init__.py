"""Extensions of the local AWS emulator (moto_server) for APIs moto does not have.

``python -m emulator.server`` serves moto exactly as ``moto_server`` does and routes the
requests of the services modelled here (chosen by the SigV4 signing name) to our models.
See emulator/README.md for what is modelled and what is not.
"""
