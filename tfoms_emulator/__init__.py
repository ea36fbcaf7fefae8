"""The fund's side (ТФОМС emulator): a separate program that imports no module of the portal.

It answers the portal's packages over RabbitMQ and files; it is built with the RabbitMQ exchange
(issue 4) and identification (issue 5). Until then the package only reserves its place in the layout.
"""
