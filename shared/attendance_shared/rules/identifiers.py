"""School and pupil identifiers as schools use them: URN, LA code, trust and UPN."""

import re

from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError
from stdnum.gb import upn as stdnum_upn

URN_PATTERN = r"^\d{6}$"
LA_CODE_PATTERN = r"^\d{3}$"
ESTABLISHMENT_NUMBER_PATTERN = r"^\d{4}$"
# A trust or federation by its group UID in Get Information about Schools (GIAS).
TRUST_ID_PATTERN = r"^\d{1,8}$"
# A UPN's shape: check letter, LA, establishment, year, serial (a letter last if temporary).
# The check letter itself is verified by validate_upn where a pupil is admitted.
UPN_SHAPE_PATTERN = r"^[A-Z]\d{11}[0-9A-Z]$"


class InvalidUPN(ValueError):
    pass


def validate_upn(value: str) -> str:
    """The UPN in its compact form, or an error naming what is wrong (length, check letter, LA)."""
    try:
        return stdnum_upn.validate(value)
    except InvalidChecksum:
        raise InvalidUPN(f"UPN {value!r} has the wrong check letter") from None
    except InvalidLength:
        raise InvalidUPN(f"UPN {value!r} must be 13 characters") from None
    except InvalidComponent:
        raise InvalidUPN(f"UPN {value!r} does not start with a recognised LA number") from None
    except (InvalidFormat, ValidationError):
        raise InvalidUPN(f"UPN {value!r} is not in the DfE format") from None


def is_urn(value: str) -> bool:
    return re.fullmatch(URN_PATTERN, value) is not None
