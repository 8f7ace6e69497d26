"""Countries by the adjective news uses for their people: "a Ukrainian athlete" answers "which country"."""

from __future__ import annotations

from qa.names import fold_terms

# Adjective or demonym = the country's usual English name in the news.
_TABLE = """
Afghan=Afghanistan, Albanian=Albania, Algerian=Algeria, American=United States, Andorran=Andorra, Angolan=Angola,
Argentine=Argentina, Argentinian=Argentina, Armenian=Armenia, Australian=Australia, Austrian=Austria,
Azerbaijani=Azerbaijan, Bahraini=Bahrain, Bangladeshi=Bangladesh, Belarusian=Belarus, Belgian=Belgium,
Beninese=Benin, Bhutanese=Bhutan, Bolivian=Bolivia, Bosnian=Bosnia and Herzegovina, Botswanan=Botswana,
Brazilian=Brazil, British=Britain, Bruneian=Brunei, Bulgarian=Bulgaria, Burkinabe=Burkina Faso, Burmese=Myanmar,
Burundian=Burundi, Cambodian=Cambodia, Cameroonian=Cameroon, Canadian=Canada, Chadian=Chad, Chilean=Chile,
Chinese=China, Colombian=Colombia, Congolese=Congo, Croatian=Croatia, Cuban=Cuba, Cypriot=Cyprus,
Czech=Czech Republic, Danish=Denmark, Dane=Denmark, Djiboutian=Djibouti, Dominican=Dominican Republic,
Dutch=Netherlands, Ecuadorian=Ecuador, Egyptian=Egypt, Emirati=United Arab Emirates, English=England,
Eritrean=Eritrea, Estonian=Estonia, Ethiopian=Ethiopia, Fijian=Fiji, Filipino=Philippines, Finnish=Finland,
Finn=Finland, French=France, Gabonese=Gabon, Gambian=Gambia, Georgian=Georgia, German=Germany, Ghanaian=Ghana,
Greek=Greece, Guatemalan=Guatemala, Guinean=Guinea, Guyanese=Guyana, Haitian=Haiti, Honduran=Honduras,
Hungarian=Hungary, Icelandic=Iceland, Icelander=Iceland, Indian=India, Indonesian=Indonesia, Iranian=Iran,
Iraqi=Iraq, Irish=Ireland, Israeli=Israel, Italian=Italy, Ivorian=Ivory Coast, Jamaican=Jamaica, Japanese=Japan,
Jordanian=Jordan, Kazakh=Kazakhstan, Kenyan=Kenya, Korean=Korea, Kosovar=Kosovo, Kuwaiti=Kuwait, Kyrgyz=Kyrgyzstan,
Lao=Laos, Laotian=Laos, Latvian=Latvia, Lebanese=Lebanon, Liberian=Liberia, Libyan=Libya, Lithuanian=Lithuania,
Luxembourgish=Luxembourg, Macedonian=North Macedonia, Malagasy=Madagascar, Malawian=Malawi, Malaysian=Malaysia,
Maldivian=Maldives, Malian=Mali, Maltese=Malta, Mauritanian=Mauritania, Mauritian=Mauritius, Mexican=Mexico,
Moldovan=Moldova, Monegasque=Monaco, Mongolian=Mongolia, Montenegrin=Montenegro, Moroccan=Morocco,
Mozambican=Mozambique, Namibian=Namibia, Nepalese=Nepal, Nepali=Nepal, Nicaraguan=Nicaragua, Nigerian=Nigeria,
Nigerien=Niger, Norwegian=Norway, Omani=Oman, Pakistani=Pakistan, Palestinian=Palestine, Panamanian=Panama,
Paraguayan=Paraguay, Peruvian=Peru, Polish=Poland, Pole=Poland, Portuguese=Portugal, Qatari=Qatar, Romanian=Romania,
Russian=Russia, Rwandan=Rwanda, Salvadoran=El Salvador, Saudi=Saudi Arabia, Scottish=Scotland, Scot=Scotland,
Senegalese=Senegal, Serbian=Serbia, Singaporean=Singapore, Slovak=Slovakia, Slovenian=Slovenia, Somali=Somalia,
Spanish=Spain, Spaniard=Spain, Sri Lankan=Sri Lanka, Sudanese=Sudan, Swedish=Sweden, Swede=Sweden, Swiss=Switzerland,
Syrian=Syria, Taiwanese=Taiwan, Tajik=Tajikistan, Tanzanian=Tanzania, Thai=Thailand, Togolese=Togo, Tunisian=Tunisia,
Turkish=Turkey, Turk=Turkey, Turkmen=Turkmenistan, Ugandan=Uganda, Ukrainian=Ukraine, Uruguayan=Uruguay,
Uzbek=Uzbekistan, Venezuelan=Venezuela, Vietnamese=Vietnam, Welsh=Wales, Yemeni=Yemen, Zambian=Zambia,
Zimbabwean=Zimbabwe
"""


def _entries() -> dict[tuple[str, ...], str]:
    pairs = (entry.split("=") for entry in " ".join(_TABLE.split()).split(", "))
    return {tuple(fold_terms(adjective)): country for adjective, country in pairs}


_COUNTRIES = _entries()


def country_of(adjective: str) -> str | None:
    """The country an adjective or demonym names, whatever its case or number.

    >>> country_of("Ukrainian"), country_of("Sri Lankans"), country_of("Valais")
    ('Ukraine', 'Sri Lanka', None)
    """
    return _COUNTRIES.get(tuple(fold_terms(adjective)))


#: Countries the table above does not reach through an adjective, and names news gives some of them.
_OTHER_NAMES = """
Bahamas, Barbados, Belize, Cape Verde, Comoros, Costa Rica, Equatorial Guinea, Eswatini, Grenada, Kiribati, Lesotho,
Liechtenstein, Marshall Islands, Micronesia, Nauru, New Zealand, North Korea, South Korea, Palau, Papua New Guinea,
Samoa, San Marino, Sao Tome and Principe, Seychelles, Sierra Leone, Solomon Islands, South Africa, South Sudan,
Saint Lucia, Saint Kitts and Nevis, Saint Vincent and the Grenadines, Suriname, Timor-Leste, East Timor, Tonga,
Trinidad and Tobago, Tuvalu, Vanuatu, Vatican, Antigua and Barbuda, Dominica, Central African Republic,
Democratic Republic of the Congo, Guinea-Bissau, Czechia, Greenland, United Kingdom, UK, U.K., Great Britain,
United States, US, U.S., USA, America, United Arab Emirates, UAE, Cote d'Ivoire, Myanmar, Burma
"""
_COUNTRY_NAMES = {tuple(fold_terms(name)) for name in _COUNTRIES.values()} | {
    tuple(fold_terms(name)) for name in " ".join(_OTHER_NAMES.split()).split(", ")
}


def is_country(name: str) -> bool:
    """Whether ``name`` is a country's name (with or without "the"), as news writes it.

    >>> is_country("Bulgaria"), is_country("the United States"), is_country("Florida")
    (True, True, False)
    """
    return tuple(fold_terms(name)) in _COUNTRY_NAMES
