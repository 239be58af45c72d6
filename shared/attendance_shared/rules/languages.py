"""Languages a parent may prefer, as ISO 639-1 codes. Pure: no I/O.

A contact's preferred language chooses the version of a message template written in it; a
template version may only be written in a code listed here, so "fr" is taken and "french" or
"xx" is refused with the field named.
"""

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

ENGLISH = "en"
# ISO 639-1, every two-letter code in the standard.
ISO_639_1 = frozenset(
    str.split(
        """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu
    hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb
    lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om
    or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw
    ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
        """
    )
)


def _known_language(value: str) -> str:
    if value not in ISO_639_1:
        raise ValueError(f"{value!r} is not an ISO 639-1 language code (two letters, such as 'en', 'pl', 'ur')")
    return value


LanguageCode = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_known_language)]
