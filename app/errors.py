"""Domain errors raised by services; one handler in main.py maps them to responses."""


class DomainError(Exception):
    status_code = 400


class NotFound(DomainError):
    status_code = 404


class Invalid(DomainError):
    status_code = 422


class Conflict(DomainError):
    status_code = 409


class Unauthorized(DomainError):
    status_code = 401
