"""The two demo organisations of ``make run`` / ``make demo`` (identifiers with valid checksums).

Their certificates are issued by the demo PKI with the same ИНН/ОГРН/СНИЛС attributes.
"""
from datetime import date

from envelopes.payloads.registration import Head, Organisation

ROMASHKA = Organisation(
    full_name="Общество с ограниченной ответственностью «Ромашка»",
    short_name="ООО «Ромашка»",
    inn="7702123454", ogrn="1027700123450", kpp="770201001",
    legal_address="г. Москва, ул. Тверская, д. 1", postal_code="125009",
    okved=("62.01", "62.02.1"), bik="044525225", account="40702810200000012345",
    phone="+74951234567", email="office@romashka.example",
    head=Head("Иванов", "Иван", "Иванович", "771234567859", "4510", "123456",
              date(1980, 5, 17), "Генеральный директор"),
)
ROMASHKA_HEAD_SNILS = "11223344595"

VASILEK = Organisation(
    full_name="Акционерное общество «Василёк»",
    short_name="АО «Василёк»",
    inn="5003123458", ogrn="1035000123454", kpp="500301001",
    legal_address="Московская обл., г. Видное, ул. Садовая, д. 7", postal_code="142700",
    okved=("47.25",), bik="044525225", account="40702810200000012345",
    phone="+74957654321", email="info@vasilek.example",
    head=Head("Петрова", "Мария", "Сергеевна", "501234567802", "4611", "654321",
              date(1975, 11, 2), "Президент"),
)
VASILEK_HEAD_SNILS = "12345678964"

#: the person the demo's head names as a representative (in the persons register of the demo)
DEMO_REPRESENTATIVE_INN = "770556348850"

DEMO = {
    "ROMASHKA": (ROMASHKA, ROMASHKA_HEAD_SNILS),
    "VASILEK": (VASILEK, VASILEK_HEAD_SNILS),
}
