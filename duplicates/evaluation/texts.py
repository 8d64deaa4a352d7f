"""The paper documents of the labelled corpus: what is printed on them, before any rendering.

A :class:`Source` is one piece of paper (or one e-mailed PDF): its text as layout blocks and the
metadata Paperless would come to know (correspondent, document type, date). Every source belongs
to a *unit* (a licence, a manual, an invoice template, a circular...): sources of one unit are
similar on purpose (the same template with other values, two revisions of one licence, a manual
and its extracts), so the train / held-out split is made by unit and no unit is in both parts.

Generated kinds (fixed seeds, plain English): letters on ten topics, invoices of six templates
for two customers over several months, shop receipts, short forms that differ in one word,
circulars to several members, package notices that embed a licence. Public kinds (the vendored
``sources/``): licence texts (and generated revisions of them) and Debian manuals (and extracts:
one page, or the first and second half).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache
from pathlib import Path

SOURCES = Path(__file__).resolve().parent / "sources"

FIRST_NAMES = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elena",
    "Felix",
    "Greta",
    "Hannah",
    "Ivan",
    "Julia",
    "Karl",
    "Lena",
    "Marco",
    "Nina",
    "Oskar",
    "Paula",
    "Quentin",
    "Rosa",
    "Samuel",
    "Tara",
    "Ulrich",
    "Vera",
    "Walter",
    "Yara",
    "Zoe",
    "Martin",
    "Sophie",
    "Jonas",
    "Mia",
    "Lukas",
)
LAST_NAMES = (
    "Adler",
    "Becker",
    "Clarke",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hoffmann",
    "Ivanova",
    "Jansen",
    "Keller",
    "Lambert",
    "Moreau",
    "Novak",
    "Olsen",
    "Peters",
    "Quinn",
    "Richter",
    "Schmidt",
    "Thompson",
    "Urban",
    "Vogel",
    "Wagner",
    "Young",
    "Zimmermann",
    "Brennan",
    "Kowalski",
)
STREETS = (
    "Linden Street",
    "Harbour Road",
    "Mill Lane",
    "Station Road",
    "Church Walk",
    "Park Avenue",
    "Orchard Close",
    "Bridge Street",
    "Meadow Way",
    "Castle Hill",
    "King's Road",
    "Elm Grove",
)
CITIES = (
    ("10115", "Berlin"),
    ("20095", "Hamburg"),
    ("80331", "Munich"),
    ("50667", "Cologne"),
    ("60311", "Frankfurt"),
    ("70173", "Stuttgart"),
    ("04109", "Leipzig"),
    ("28195", "Bremen"),
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True, slots=True)
class Block:
    """One layout block. ``style``: letterhead, address, right, subject, title, heading, para,
    table (``rows``), total, small, mono, stamp_area, pagebreak."""

    style: str
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    key: str
    doc_type: str
    unit: str
    title: str
    correspondent: str | None
    document_type: str
    date: date | None
    blocks: tuple[Block, ...]
    page: str = "A4"
    font: str = "Helvetica"
    font_size: float = 10.5
    # (key of the containing source, "extract" | "half") for documents that are part of another
    part_of: tuple[str, str] | None = None
    meta: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        lines = []
        for block in self.blocks:
            if block.rows:
                lines.extend("  ".join(row) for row in block.rows)
            elif block.text:
                lines.append(block.text)
        return "\n".join(lines)


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _address(rng: random.Random, name: str) -> str:
    postcode, city = rng.choice(CITIES)
    return f"{name}\n{rng.randint(1, 140)} {rng.choice(STREETS)}\n{postcode} {city}"


def _date_text(day: date, style: int) -> str:
    if style == 0:
        return day.strftime("%d.%m.%Y")
    if style == 1:
        return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    return day.isoformat()


def _money(value: float) -> str:
    whole, cents = divmod(round(value * 100), 100)
    return f"{whole:,}".replace(",", ".") + f",{cents:02d} EUR"


def _fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


# --- letters -------------------------------------------------------------------------------

LETTER_TOPICS: dict[str, dict] = {
    "insurance": {
        "orgs": ("Northgate Insurance AG", "Helvetia Mutual", "Harbour Life Assurance"),
        "type": "Insurance",
        "subjects": (
            "Your policy {ref}: adjustment of the premium",
            "Claim {ref}: your damage report of {date2}",
            "Annual statement for policy {ref}",
        ),
        "paragraphs": (
            "Thank you for your message of {date2} concerning your household contents policy. We have "
            "reviewed the documents you sent and would like to inform you about the next steps.",
            "Due to the general increase in repair and replacement costs, the premium of your policy "
            "{ref} will be adjusted from {amount} to {amount2} per year with effect from {date3}.",
            "You have the right to terminate the contract within one month of receiving this letter. "
            "If you do not object, the adjusted premium will be collected by direct debit as usual.",
            "The damage to your bicycle reported on {date2} is covered by your policy. After "
            "deduction of the agreed excess of {amount3}, we will transfer {amount} to your account.",
            "Please send us the original invoice of the repair workshop and a photograph of the "
            "damaged item so that we can complete the assessment of your claim.",
            "Your no-claims bonus remains unchanged this year. The cover now also includes damage "
            "caused by overvoltage and the loss of keys up to an amount of {amount2}.",
            "If you move house, please tell us your new address and the living space of the new "
            "flat, as the sum insured depends on it.",
        ),
    },
    "bank": {
        "orgs": ("Riverside Savings Bank", "Union Credit Cooperative", "First Hanseatic Bank"),
        "type": "Bank letter",
        "subjects": (
            "Changes to the terms of your current account {ref}",
            "Your loan agreement {ref}",
            "Confirmation of your standing order",
        ),
        "paragraphs": (
            "We are writing to inform you of changes to the price and service directory that apply "
            "to your current account {ref} from {date3}.",
            "The monthly account fee will rise to {amount3}. Transfers made in online banking remain "
            "free of charge, while paper transfers will cost {amount4} each.",
            "Your consent to these changes is deemed to have been given unless you object before "
            "they take effect. You may terminate the account free of charge until then.",
            "As agreed, the instalment of your loan {ref} is {amount} per month. The remaining debt "
            "on {date2} amounted to {amount2}; the fixed interest period ends on {date3}.",
            "Your standing order of {amount3} to {name2} will be executed on the first working day "
            "of each month, starting on {date3}.",
            "Please check the enclosed statement carefully and tell us within six weeks if you find "
            "any entry that you did not authorise.",
            "For your security we will never ask you by e-mail or telephone for your PIN, your "
            "transaction numbers or your online banking password.",
        ),
    },
    "landlord": {
        "orgs": ("Greenfield Property Management", "Lakeside Housing Cooperative", "Urban Homes"),
        "type": "Tenancy",
        "subjects": (
            "Service charge statement {year}",
            "Flat {ref}: planned renovation works",
            "Rent adjustment for flat {ref}",
        ),
        "paragraphs": (
            "Enclosed you will find the service charge statement for the period from {date2} to "
            "{date3} for your flat {ref}.",
            "The statement results in an additional payment of {amount} which we ask you to "
            "transfer by {date4}. Your monthly advance payment will be increased to {amount2}.",
            "The costs for heating and hot water were distributed according to the readings of the "
            "meters, the remaining costs according to the living space of {small} square metres.",
            "In the week starting {date3} the windows in the stairwell will be replaced. Please "
            "keep the access to your windows clear and make sure that someone is at home.",
            "Under the rent index of the city, the local comparative rent for your flat is "
            "{amount3} per square metre. We therefore ask for your consent to raise the rent.",
            "You can inspect the receipts for the service charges by appointment in our office "
            "during the usual opening hours.",
            "Please remember that bicycles may not be kept in the stairwell and that the fire "
            "doors must remain closed at all times.",
        ),
    },
    "employer": {
        "orgs": ("Brightline Logistics GmbH", "Keller & Sons Engineering", "Nordic Software Ltd"),
        "type": "Employment",
        "subjects": (
            "Your salary from {date3}",
            "Certificate of employment",
            "Confirmation of your parental leave",
        ),
        "paragraphs": (
            "We are pleased to inform you that your gross monthly salary will be raised to "
            "{amount2} with effect from {date3}, in recognition of your work over the past year.",
            "All other terms of your employment contract of {date2} remain unchanged.",
            "We hereby confirm that {name} has been employed with our company as a project engineer "
            "since {date2} on a permanent, full-time basis.",
            "We confirm your parental leave from {date3} to {date4}. During this time your company "
            "car and mobile phone will remain with the company.",
            "Your remaining annual leave of {small} days will be carried over into the next year "
            "and must be taken by the end of March.",
            "Please contact the human resources department if you have any questions about your "
            "payslip or your company pension scheme.",
            "We thank you for your commitment and look forward to continuing our good cooperation.",
        ),
    },
    "doctor": {
        "orgs": (
            "Medical Practice Dr. Lambert",
            "City Hospital Outpatient Clinic",
            "Dental Surgery Park Avenue",
        ),
        "type": "Medical",
        "subjects": (
            "Findings of your examination on {date2}",
            "Treatment plan",
            "Invoice for private treatment",
        ),
        "paragraphs": (
            "Following your examination on {date2}, we would like to summarise the findings and "
            "the recommended treatment.",
            "The blood values were within the normal range, apart from a slightly raised "
            "cholesterol level. We recommend a follow-up examination in six months.",
            "The planned treatment comprises {small} sessions of physiotherapy. The costs of "
            "{amount} are expected to be covered by your health insurance.",
            "Please bring your insurance card, the referral from your general practitioner and a "
            "list of the medicines you take regularly to your next appointment on {date3}.",
            "For the treatment provided on {date2} we charge {amount} in accordance with the scale "
            "of fees for physicians. Please pay within thirty days.",
            "If your appointment cannot take place, please cancel at least twenty-four hours in "
            "advance, otherwise we may charge a fee for the reserved time.",
            "With kind regards and best wishes for your recovery.",
        ),
    },
    "tax": {
        "orgs": ("Tax Office Hamburg-Nord", "Tax Office Munich III", "Tax Office Cologne-Old Town"),
        "type": "Tax",
        "subjects": (
            "Income tax assessment {year}",
            "Request for documents, tax number {ref}",
            "Advance payments for {year}",
        ),
        "paragraphs": (
            "Your income tax for the year {year} is assessed at {amount}. After deduction of the "
            "wage tax already withheld, a refund of {amount2} results.",
            "The refund will be transferred to the account you stated in your return within the "
            "next few days.",
            "To process your return we need the following documents: the certificate of your "
            "pension contributions and the receipts for the craftsman services you claimed.",
            "Please send the documents by {date4}. If they are not received in time, the "
            "expenses cannot be taken into account.",
            "The advance payments for the coming year are set at {amount3} per quarter, due on the "
            "tenth of March, June, September and December.",
            "You may lodge an objection against this notice within one month of its announcement. "
            "The objection must be submitted in writing or electronically.",
            "This notice was produced automatically and is valid without signature.",
        ),
    },
    "school": {
        "orgs": ("Lindenberg Primary School", "Riverside Grammar School", "City Music School"),
        "type": "School",
        "subjects": (
            "Parents' evening on {date3}",
            "School trip to the coast",
            "Confirmation of enrolment",
        ),
        "paragraphs": (
            "We warmly invite you to the parents' evening of class {small} on {date3} at 7 pm in "
            "the school hall.",
            "On the agenda are the election of the class representatives, the planning of the "
            "school trip and information on the new timetable.",
            "The school trip to the coast will take place from {date3} to {date4}. The cost per "
            "pupil is {amount}, including travel, accommodation and full board.",
            "Please transfer the amount by {date2} stating the name of your child and the class. "
            "The school's support association can help families who need assistance.",
            "We confirm that {name} is enrolled in our school for the coming school year.",
            "Lessons end at noon on the last day before the holidays; the after-school care will "
            "be open as usual.",
            "Please inform the school office by telephone before eight o'clock if your child is ill.",
        ),
    },
    "utility": {
        "orgs": ("Citywide Energy", "Waterworks of the Region", "FibreNet Broadband"),
        "type": "Contract",
        "subjects": (
            "Your new contract {ref}",
            "Price change from {date3}",
            "Meter reading request",
        ),
        "paragraphs": (
            "Thank you for choosing us as your supplier. Your contract {ref} begins on {date3}; "
            "the first monthly instalment of {amount} will be collected on {date4}.",
            "Because of higher network charges and levies, the working price will rise to "
            "{small} cents per kilowatt hour from {date3}.",
            "You have a special right of termination until the price change takes effect. A "
            "comparison of the old and new prices is enclosed.",
            "Please read your meter on {date3} and send us the reading using the enclosed card or "
            "our customer portal. Meter number: {ref}.",
            "If we do not receive a reading, we will estimate your consumption on the basis of the "
            "previous year.",
            "Our customer service is available from Monday to Friday between 8 am and 6 pm.",
            "You can manage your contract, your bank details and your invoices online at any time.",
        ),
    },
    "lawyer": {
        "orgs": ("Becker & Partner Solicitors", "Law Office Dr. Moreau", "Quinn Legal Services"),
        "type": "Legal",
        "subjects": (
            "Your case {ref}",
            "Settlement proposal in the matter {ref}",
            "Power of attorney",
        ),
        "paragraphs": (
            "In the matter of {name} against {name2}, file reference {ref}, we have received the "
            "opposing side's statement of {date2}.",
            "The other party now offers a settlement of {amount} to resolve all mutual claims. In "
            "our opinion the offer is reasonable, given the risks of the proceedings.",
            "Please let us know by {date4} whether you wish to accept the proposal. The hearing "
            "set for {date3} would then be cancelled.",
            "Enclosed is the power of attorney which we ask you to sign and return to us.",
            "Our fees are calculated according to the statutory scale on the basis of a value in "
            "dispute of {amount2}.",
            "We will keep you informed of any further developments.",
            "This letter is confidential and intended only for the addressee.",
        ),
    },
    "club": {
        "orgs": ("Riverside Rowing Club", "Allotment Association Sunny Side", "Chess Club 1920"),
        "type": "Association",
        "subjects": (
            "Membership fee {year}",
            "Your membership {ref}",
            "Thank you for your donation",
        ),
        "paragraphs": (
            "The annual membership fee of {amount} for {year} will be collected by direct debit on "
            "{date3}. Our creditor identifier and your mandate reference are {ref}.",
            "We confirm your membership with effect from {date2}. Your membership card is enclosed.",
            "Thank you very much for your donation of {amount2} received on {date2}. This letter "
            "serves as a receipt for tax purposes.",
            "We confirm that the donation is used exclusively for the promotion of amateur sport "
            "and that the association is recognised as charitable.",
            "The training times for the winter season are published on the notice board and on "
            "our website.",
            "Volunteers for the spring clean-up on {date3} are always welcome.",
            "With sporting greetings from the board.",
        ),
    },
}


GENERIC_PARAGRAPHS = (
    "We would also like to take this opportunity to point out that our office hours have changed. "
    "From {date3} we are open from Monday to Thursday between 9 am and 4 pm and on Fridays until noon.",
    "Should you have any questions, please do not hesitate to contact us. It helps us if you quote "
    "the reference {ref} in all correspondence, so that we can find your file quickly.",
    "Please note that we process your personal data in accordance with the data protection "
    "regulations. Further information on how we handle your data is available on request.",
    "We have enclosed a copy of the relevant documents for your records. Please keep them in a "
    "safe place, as you may need them for your tax return or for future enquiries.",
    "If we do not hear from you by {date4}, we will assume that you agree with the arrangement "
    "described above and will proceed accordingly.",
    "Payments can be made by bank transfer to the account stated below. Please make sure to quote "
    "the reference {ref}, otherwise the payment cannot be allocated automatically.",
    "As discussed on the telephone on {date2}, we are sending you the information in writing "
    "today. We apologise for the delay, which was caused by a high volume of enquiries.",
    "You can also reach us through our customer portal, where you can view your documents, update "
    "your contact details and send us messages at any time of day.",
    "We regret any inconvenience this may cause and thank you for your understanding and your "
    "patience while the matter is being resolved.",
    "The enclosed form should be completed in block capitals, signed and returned in the prepaid "
    "envelope. Incomplete forms unfortunately have to be sent back, which delays processing.",
)


def _letter_values(rng: random.Random, day: date) -> dict[str, str]:
    style = rng.randrange(3)
    return {
        "date2": _date_text(day - timedelta(days=rng.randint(5, 60)), style),
        "date3": _date_text(day + timedelta(days=rng.randint(10, 60)), style),
        "date4": _date_text(day + timedelta(days=rng.randint(61, 120)), style),
        "amount": _money(rng.uniform(20, 2500)),
        "amount2": _money(rng.uniform(20, 2500)),
        "amount3": _money(rng.uniform(2, 300)),
        "amount4": _money(rng.uniform(0.5, 3)),
        "ref": f"{rng.choice('ABCDEFGHKLMNPRSTVW')}{rng.choice('ABCDEFGHKLMNPRSTVW')}-"
        f"{rng.randint(10000, 999999)}",
        "name": _person(rng),
        "name2": _person(rng),
        "year": str(day.year - rng.randint(0, 1)),
        "small": str(rng.randint(2, 38)),
    }


def letter(*, seed: int, long: bool = False) -> Source:
    """A letter on one of the topics: letterhead, address, date, subject, 3-12 paragraphs."""
    rng = random.Random(seed)
    topic_name = sorted(LETTER_TOPICS)[seed % len(LETTER_TOPICS)]
    topic = LETTER_TOPICS[topic_name]
    org = rng.choice(topic["orgs"])
    day = date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))
    values = _letter_values(rng, day)
    recipient = _person(rng)
    subject = _fill(rng.choice(topic["subjects"]), values)
    paragraphs = rng.sample(topic["paragraphs"], rng.randint(3, 5))
    if long:
        paragraphs += rng.sample(GENERIC_PARAGRAPHS, rng.randint(7, 10))
        rng.shuffle(paragraphs)
    body = [Block("para", _fill(template, values)) for template in paragraphs]
    postcode, city = rng.choice(CITIES)
    blocks = (
        Block(
            "letterhead",
            f"{org}\n{rng.randint(1, 99)} {rng.choice(STREETS)}, {postcode} {city}"
            f"\nPhone +49 {rng.randint(30, 89)} {rng.randint(100000, 9999999)}",
        ),
        Block("address", _address(rng, recipient)),
        Block("right", f"{city}, {_date_text(day, rng.randrange(3))}"),
        Block("subject", subject),
        Block("para", f"Dear {recipient},"),
        *body,
        Block("para", "Yours sincerely,"),
        Block("para", f"{_person(rng)}\n{org}"),
        Block(
            "small",
            f"{org} - Registered office {city} - Register court {city} "
            f"HRB {rng.randint(1000, 99999)} - Managing board: {_person(rng)}",
        ),
    )
    return Source(
        key=f"letter/{seed}",
        doc_type="letter",
        unit=f"letter/{seed}",
        title=subject,
        correspondent=org,
        document_type=topic["type"],
        date=day,
        blocks=blocks,
        font=rng.choice(("Helvetica", "Times-Roman")),
        font_size=rng.choice((10.0, 10.5, 11.0, 11.5)),
    )


# --- invoices ------------------------------------------------------------------------------

INVOICE_TEMPLATES = (
    {
        "org": "Citywide Energy",
        "type": "Invoice",
        "items": (
            ("Electricity, working price", "kWh", 0.32),
            ("Basic charge", "months", 11.9),
            ("Meter operation", "months", 1.75),
        ),
        "font": "Helvetica",
        "footer": "Payment is due within 14 days. Complaints about this invoice must be made within "
        "four weeks. Information on energy efficiency services is available from the Federal Office.",
    },
    {
        "org": "FibreNet Broadband",
        "type": "Invoice",
        "items": (
            ("Fibre 250 tariff", "months", 44.99),
            ("Router rental", "months", 4.99),
            ("Calls to mobile networks", "min", 0.19),
        ),
        "font": "Helvetica",
        "footer": "The amount will be debited from your account on the due date. Itemised call records "
        "are available in the customer portal. Prices include statutory VAT.",
    },
    {
        "org": "Waterworks of the Region",
        "type": "Invoice",
        "items": (
            ("Drinking water", "m3", 2.05),
            ("Waste water", "m3", 2.61),
            ("Standing charge", "months", 6.5),
        ),
        "font": "Times-Roman",
        "footer": "The water supply is subject to the general conditions for the supply of water. "
        "Please quote your customer number with every payment.",
    },
    {
        "org": "Mobile One Telecom",
        "type": "Invoice",
        "items": (
            ("Unlimited Plus contract", "months", 29.99),
            ("Roaming data", "MB", 0.02),
            ("Premium SMS", "pcs", 0.39),
        ),
        "font": "Helvetica",
        "footer": "Objections to the invoice can be raised within eight weeks. Our terms and "
        "conditions and the price list apply.",
    },
    {
        "org": "Green Valley Waste Services",
        "type": "Invoice",
        "items": (
            ("Residual waste bin 120 l", "emptyings", 6.4),
            ("Organic waste bin", "emptyings", 3.2),
            ("Bulky waste collection", "pcs", 25.0),
        ),
        "font": "Times-Roman",
        "footer": "Fees are set by the municipal statute on waste disposal. An appeal does not delay "
        "the obligation to pay.",
    },
    {
        "org": "Harbour Parking Ltd",
        "type": "Invoice",
        "items": (
            ("Parking space rental", "months", 85.0),
            ("Access card", "pcs", 10.0),
            ("Cleaning surcharge", "months", 4.0),
        ),
        "font": "Courier",
        "footer": "Rent is payable monthly in advance. Notice of termination is three months to the "
        "end of a quarter.",
    },
    {
        # a flat fee: every month the same amounts, only the dates and the number change
        "org": "Northgate Insurance AG",
        "type": "Invoice",
        "items": (
            ("Household contents premium", "months", 14.9),
            ("Personal liability premium", "months", 6.25),
            ("Insurance tax", "months", 3.98),
        ),
        "font": "Times-Roman",
        "footer": "The premium is collected monthly by direct debit. Cover continues as long as the "
        "premium is paid; please tell us about any change of address.",
    },
)


def invoice(*, template: int, customer: int, month: int) -> Source:
    """A monthly invoice: same template, customer and layout; other period, number and amounts."""
    spec = INVOICE_TEMPLATES[template]
    rng = random.Random(template * 1000 + customer)  # the customer's fixed data
    name = _person(rng)
    address = _address(rng, name)
    customer_no = f"{rng.randint(1000000, 9999999)}"
    contract = f"{rng.randint(100, 999)}-{rng.randint(10000, 99999)}"
    month_rng = random.Random(template * 1000 + customer * 37 + month * 7919)
    period_start = date(2025, 1, 1) + timedelta(days=31 * month)
    period_start = period_start.replace(day=1)
    issued = period_start + timedelta(days=month_rng.randint(33, 40))
    due = issued + timedelta(days=14)
    number = f"{period_start.year}{template:02d}{customer:02d}{month_rng.randint(10000, 99999)}"
    rows = [("Item", "Quantity", "Unit price", "Amount")]
    total = 0.0
    for label, unit, price in spec["items"]:
        quantity = 1 if unit in ("months",) else month_rng.randint(1, 400 if unit != "pcs" else 3)
        if unit == "kWh":
            quantity = month_rng.randint(140, 420)
        amount = quantity * price
        total += amount
        rows.append((label, f"{quantity} {unit}", f"{price:.2f}".replace(".", ","), _money(amount)))
    vat = total * 0.19
    month_name = f"{MONTHS[period_start.month - 1]} {period_start.year}"
    blocks = (
        Block(
            "letterhead", f"{spec['org']}\nCustomer service +49 800 {rng.randint(100000, 999999)}"
        ),
        Block("address", address),
        Block(
            "right",
            f"Invoice no. {number}\nDate: {issued.strftime('%d.%m.%Y')}\n"
            f"Customer no. {customer_no}\nContract {contract}",
        ),
        Block("subject", f"Invoice for {month_name}"),
        Block(
            "para",
            f"Billing period {period_start.strftime('%d.%m.%Y')} - "
            f"{(period_start.replace(day=28)).strftime('%d.%m.%Y')}",
        ),
        Block("table", rows=tuple(rows)),
        Block(
            "total",
            f"Net amount {_money(total)}\nVAT 19 % {_money(vat)}\n"
            f"Total amount {_money(total + vat)}",
        ),
        Block(
            "para",
            f"We will debit the total amount of {_money(total + vat)} on "
            f"{due.strftime('%d.%m.%Y')} from your account with mandate reference {contract}.",
        ),
        Block("small", spec["footer"]),
    )
    return Source(
        key=f"invoice/{template}/{customer}/{month}",
        doc_type="invoice",
        unit=f"invoice/{template}",
        title=f"Invoice {month_name}",
        correspondent=spec["org"],
        document_type=spec["type"],
        date=issued,
        blocks=blocks,
        font=spec["font"],
        font_size=10.0,
    )


# --- receipts and forms: short texts -------------------------------------------------------

SHOPS = (
    (
        "Corner Bakery",
        ("Rye bread", 3.2),
        ("Croissant", 1.3),
        ("Coffee to go", 2.4),
        ("Apple pie", 2.9),
    ),
    ("Fresh Market", ("Bananas", 1.79), ("Milk 1 l", 1.19), ("Cheese", 3.49), ("Tomatoes", 2.29)),
    (
        "City Pharmacy",
        ("Ibuprofen 400", 4.95),
        ("Plasters", 2.5),
        ("Nasal spray", 3.6),
        ("Vitamin C", 5.2),
    ),
    (
        "Hardware Depot",
        ("Screws 4x40", 3.99),
        ("Wall plugs", 2.49),
        ("Paint brush", 6.99),
        ("Tape", 4.49),
    ),
    (
        "Book Nook",
        ("Paperback novel", 12.0),
        ("Notebook A5", 4.5),
        ("Pencil set", 6.0),
        ("Map", 9.95),
    ),
    (
        "Petrol Station North",
        ("Super E10", 1.78),
        ("Car wash", 9.0),
        ("Wiper fluid", 4.99),
        ("Snack", 2.1),
    ),
    (
        "Garden Centre",
        ("Potting soil", 7.99),
        ("Tulip bulbs", 4.99),
        ("Watering can", 12.5),
        ("Seeds", 2.2),
    ),
    (
        "Electronics Store",
        ("USB cable", 9.99),
        ("Batteries AA", 5.49),
        ("Headphones", 29.0),
        ("SD card", 14.9),
    ),
    (
        "Post Office Branch",
        ("Stamps", 0.95),
        ("Parcel S", 4.79),
        ("Envelope", 0.5),
        ("Registered mail", 2.65),
    ),
    (
        "Cafe Central",
        ("Cappuccino", 3.4),
        ("Cheesecake", 4.2),
        ("Mineral water", 2.6),
        ("Sandwich", 5.9),
    ),
)


def receipt(*, shop: int, number: int) -> Source:
    """A till receipt: 20-200 characters of text, on a narrow page."""
    name, *items = SHOPS[shop]
    rng = random.Random(shop * 100 + number)
    day = date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
    bought = rng.sample(items, rng.randint(1, 3))
    rows = []
    total = 0.0
    for label, price in bought:
        count = rng.randint(1, 3)
        total += count * price
        rows.append((f"{count} x {label}", f"{count * price:.2f}"))
    blocks = (
        Block("title", name),
        Block(
            "small", f"{day.strftime('%d.%m.%Y')} {rng.randint(8, 19):02d}:{rng.randint(0, 59):02d}"
        ),
        Block("table", rows=tuple(rows)),
        Block("total", f"TOTAL EUR {total:.2f}"),
        Block("small", rng.choice(("Card payment", "Cash", "Contactless")) + " - Thank you!"),
    )
    return Source(
        key=f"receipt/{shop}/{number}",
        doc_type="receipt",
        unit=f"receipt/{shop}",
        title=f"Receipt {name}",
        correspondent=name,
        document_type="Receipt",
        date=day,
        blocks=blocks,
        page="receipt",
        font="Courier",
        font_size=9.5,
    )


# Short forms: (template, the word that changes between fills). Two fills differ in one word.
FORMS = (
    (
        "Delivery note: {w} boxes of office supplies handed over at reception.",
        ("six", "seven", "nine"),
    ),
    (
        "Reminder: the {w} instalment of the course fee is due this month.",
        ("first", "second", "last"),
    ),
    ("Room booking confirmed: meeting room {w} on the ground floor.", ("Linden", "Maple", "Birch")),
    (
        "Notice: the water supply will be interrupted on {w} morning.",
        ("Monday", "Wednesday", "Friday"),
    ),
    ("Please collect your {w} from the pharmacy counter.", ("prescription", "glasses", "parcel")),
    ("Warranty card: the {w} year of cover begins today.", ("first", "second", "third")),
    (
        "Confirmation of receipt. We have received the {w} copy of your application.",
        ("first", "second", "third"),
    ),
    (
        "Please find attached the {w} reminder for the outstanding payment.",
        ("first", "second", "final"),
    ),
    ("Notice of absence: the office is closed on {w}.", ("Monday", "Tuesday", "Friday")),
    (
        "Parcel notification: your parcel was left with the {w} neighbour.",
        ("left", "right", "upstairs"),
    ),
    (
        "Order confirmation: {w} pallets of printer paper, delivery next week.",
        ("two", "three", "five"),
    ),
    (
        "Appointment confirmed for {w} morning at the front desk.",
        ("Wednesday", "Thursday", "Saturday"),
    ),
    ("Key handover: {w} keys for flat 4 were returned to the caretaker.", ("two", "three", "four")),
    (
        "Sick note: unable to work from today until {w} inclusive.",
        ("Wednesday", "Friday", "Sunday"),
    ),
    ("Vaccination record: {w} dose administered, batch on file.", ("first", "second", "booster")),
    ("Meter reading card: reading taken by the {w}.", ("tenant", "landlord", "caretaker")),
    (
        "Library notice: the {w} book you reserved is ready for collection.",
        ("first", "second", "last"),
    ),
    (
        "Bin collection moved to {w} because of the public holiday.",
        ("Tuesday", "Thursday", "Saturday"),
    ),
)


def form(*, template: int, fill: int) -> Source:
    """A short form or note (one or two lines); fills of one template differ in one word."""
    text, words = FORMS[template]
    rng = random.Random(template * 10)  # the same name, date and reference for every fill
    day = date(2025, 3, 1) + timedelta(days=rng.randint(0, 300))
    blocks = (
        Block("title", rng.choice(("Notice", "Confirmation", "Information", "Memo"))),
        Block("para", text.format(w=words[fill])),
        Block("small", f"{_person(rng)}, {day.strftime('%d.%m.%Y')}"),
    )
    return Source(
        key=f"form/{template}/{fill}",
        doc_type="form",
        unit=f"form/{template}",
        title="Form",
        correspondent=None,
        document_type="Form",
        date=day,
        blocks=blocks,
        page="A5",
        font=rng.choice(("Helvetica", "Times-Roman")),
        font_size=12.0,
    )


# --- circulars: one letter to several people -----------------------------------------------

CIRCULARS = (
    (
        "Riverside Rowing Club",
        "Invitation to the annual general meeting",
        (
            "The annual general meeting will take place on {date} at 7 pm in the clubhouse. The agenda "
            "comprises the reports of the board, the accounts, the discharge of the board and the "
            "election of the treasurer.",
            "Motions must reach the board in writing at least two weeks before the meeting. Members who "
            "cannot attend may authorise another member in writing.",
        ),
    ),
    (
        "Lakeside Housing Cooperative",
        "Replacement of the heating system",
        (
            "From {date} the heating system of the building will be replaced. Hot water will not be "
            "available for up to three days; we will inform you of the exact dates by a notice in the "
            "stairwell.",
            "The work is carried out by a specialist company. Access to the flats is needed for the "
            "installation of new thermostatic valves.",
        ),
    ),
    (
        "Lindenberg Primary School",
        "Information on the new school year",
        (
            "The new school year begins on {date}. The first lesson starts at 8 am; please make sure that "
            "your child arrives on time.",
            "The list of required materials is enclosed. Textbooks are lent by the school and must be "
            "covered and returned undamaged at the end of the year.",
        ),
    ),
    (
        "Citywide Energy",
        "Your consumption in comparison",
        (
            "With this letter we send you an overview of your electricity consumption compared with "
            "similar households. The figures are based on the readings up to {date}.",
            "Simple measures such as switching off devices in standby mode can reduce consumption "
            "noticeably. Our energy advice is free of charge for customers.",
        ),
    ),
    (
        "Allotment Association Sunny Side",
        "Water supply for the season",
        (
            "The water supply in the gardens will be switched on on {date}. Each tenant is responsible "
            "for checking the pipes and taps in their own plot.",
            "The water meters will be read at the end of October. Please make sure the meter of your "
            "garden is accessible.",
        ),
    ),
    (
        "Chess Club 1920",
        "Club championship",
        (
            "The club championship starts on {date} and is played over seven rounds, one round every "
            "second Friday. Registration is possible until one week before the start.",
            "The games are played with a time control of ninety minutes for forty moves plus thirty "
            "minutes for the rest of the game.",
        ),
    ),
)


def circular(*, number: int, recipient: int) -> Source:
    """One circular, personalised: same sender, date and text, other addressee and a personal
    paragraph (member number, amount due)."""
    org, subject, paragraphs = CIRCULARS[number]
    rng = random.Random(number * 31)
    day = date(2025, 2, 1) + timedelta(days=rng.randint(0, 400))
    event = _date_text(day + timedelta(days=rng.randint(20, 50)), 1)
    person_rng = random.Random(number * 31 + recipient * 1009 + 1)
    name = _person(person_rng)
    personal = (
        f"Our records show your membership number as {person_rng.randint(100, 9999)} and an "
        f"outstanding contribution of {_money(person_rng.uniform(10, 400))}, which we ask you to "
        f"settle before {_date_text(day + timedelta(days=person_rng.randint(10, 40)), 0)}."
    )
    blocks = (
        Block("letterhead", org),
        Block("address", _address(person_rng, name)),
        Block("right", _date_text(day, 0)),
        Block("subject", subject),
        Block("para", f"Dear {name},"),
        Block("para", paragraphs[0].format(date=event)),
        Block("para", personal),
        Block("para", paragraphs[1]),
        Block("para", "Kind regards,\nThe board"),
    )
    return Source(
        key=f"circular/{number}/{recipient}",
        doc_type="circular",
        unit=f"circular/{number}",
        title=subject,
        correspondent=org,
        document_type="Circular",
        date=day,
        blocks=blocks,
        font="Helvetica",
        font_size=11.0,
    )


# --- licences, notices and manuals ---------------------------------------------------------


@cache
def source_text(kind: str, name: str) -> str:
    return (SOURCES / kind / f"{name}.txt").read_text(encoding="utf-8")


LICENCES = (
    "Apache-2.0",
    "Artistic",
    "BSD",
    "CC0-1.0",
    "GFDL-1.2",
    "GFDL-1.3",
    "GPL-1",
    "GPL-2",
    "GPL-3",
    "LGPL-2",
    "LGPL-2.1",
    "LGPL-3",
    "MPL-1.1",
    "MPL-2.0",
)
# Licences that are revisions of one another share a unit (so a pair is never split).
LICENCE_UNITS = {
    "GFDL-1.2": "gfdl",
    "GFDL-1.3": "gfdl",
    "GPL-1": "gpl",
    "GPL-2": "gpl",
    "GPL-3": "gpl",
    "LGPL-2": "lgpl",
    "LGPL-2.1": "lgpl",
    "LGPL-3": "lgpl",
    "MPL-1.1": "mpl",
    "MPL-2.0": "mpl",
}
MANUALS = (
    "coreutils",
    "systemd",
    "gnupg",
    "xz-utils",
    "socat",
    "man-db",
    "apt",
    "redis-server",
    "zstd",
    "libjpeg-dev",
    "openssh-client",
    "galera-4",
    "libkrb5-3",
    "dpkg-triggers",
    "git-subtree",
    "git-relnotes-1.6.1",
    "git-relnotes-2.3.0",
    "git-relnotes-2.7.0",
    "git-relnotes-2.14.0",
    "git-relnotes-2.28.0",
    "git-relnotes-2.33.0",
)


def _paragraph_blocks(text: str, *, limit: int, mono: bool = False) -> list[Block]:
    """The text's paragraphs (blank-line separated) up to about ``limit`` characters."""
    blocks: list[Block] = []
    used = 0
    for raw in re.split(r"\n\s*\n", text.strip()):
        if used >= limit:
            break
        paragraph = raw.strip("\n")
        if not paragraph.strip():
            continue
        if mono or re.search(r"^\s{4,}\S", paragraph, re.M):
            blocks.append(Block("mono", paragraph))
        elif len(paragraph) < 70:
            blocks.append(Block("heading", " ".join(paragraph.split())))
        else:
            blocks.append(Block("para", " ".join(paragraph.split())))
        used += len(paragraph)
    return blocks


def licence(*, name: str, limit: int = 5200) -> Source:
    return Source(
        key=f"licence/{name}",
        doc_type="licence",
        unit=f"licence/{LICENCE_UNITS.get(name, name)}",
        title=name,
        correspondent=None,
        document_type="Licence",
        date=None,
        blocks=tuple(_paragraph_blocks(source_text("licences", name), limit=limit)),
        font="Times-Roman",
        font_size=10.5,
    )


_WORD = re.compile(r"\b[a-z]{5,}\b")


def licence_revision(base: Source, *, seed: int) -> Source:
    """A generated revision of a licence: its version number changed (or a version line added
    where it had none) and a third of its clauses reworded (an eighth of their words each)."""
    rng = random.Random(seed)
    blocks = list(base.blocks)
    number = f"{rng.randint(2, 4)}.{rng.randint(1, 9)}"
    pattern = re.compile(r"(?i)(version\s+)\d+(?:\.\d+)*|\b\d+\.\d+\b")
    head = 0
    for index, block in enumerate(blocks[:4]):
        changed = pattern.sub(lambda m: (m.group(1) or "") + number, block.text, count=1)
        if changed != block.text:
            blocks[index] = Block(block.style, changed)
            head = index + 1
            break
    else:
        version = f"Version {number}, {MONTHS[rng.randrange(12)]} {rng.randint(2010, 2024)}"
        blocks.insert(1, Block("heading", version))
        head = 2
    clauses = [i for i, b in enumerate(blocks) if i >= head and len(b.text) >= 60]
    for index in rng.sample(clauses, max(1, len(clauses) // 3)):
        words = blocks[index].text.split(" ")
        for _ in range(max(3, len(words) // 8)):
            at = rng.randrange(len(words))
            words[at] = rng.choice(
                (
                    "licensee",
                    "recipient",
                    "software",
                    "contributor",
                    "notice",
                    "provided",
                    "warranty",
                    "liability",
                    "distribution",
                    "terms",
                )
            )
        blocks[index] = Block(blocks[index].style, " ".join(words))
    blocks.append(
        Block(
            "para",
            f"This revision supersedes all earlier versions. Changes: "
            f"{rng.choice(('clarified patent terms', 'updated contact address', 'new termination clause'))}.",
        )
    )
    return replace(
        base, key=f"{base.key}/rev{seed}", title=f"{base.title} (revised)", blocks=tuple(blocks)
    )


NOTICE_LICENCES = (
    "Apache-2.0",
    "BSD",
    "MPL-2.0",
    "Artistic",
    "CC0-1.0",
    "GPL-2",
    "LGPL-2.1",
    "GPL-3",
)
PACKAGES = (
    "libtidyfmt",
    "pgquick",
    "zapcache",
    "nimbus-http",
    "quillmark",
    "ferrous-db",
    "tinyvault",
    "orbitlog",
    "brightmail",
    "cobaltsync",
    "marmot-ui",
    "kestrel-io",
    "pelican-auth",
    "dunecli",
    "lumenpdf",
    "harpoon-rpc",
    "sparrowdb",
    "tidewatch",
    "glimmer-css",
    "boreal-auth",
    "quartzq",
    "mosaic-img",
    "ridgeline",
    "fernproxy",
)


def notice(*, licence_name: str, package: int, limit: int = 3600) -> Source:
    """A package's notice: its name, authors and copyright, then the licence text it uses."""
    rng = random.Random(f"{licence_name}/{package}")
    name = PACKAGES[package]
    head = (
        Block("title", f"{name} {rng.randint(0, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"),
        Block(
            "para",
            f"Copyright (C) {rng.randint(2005, 2020)}-{rng.randint(2021, 2025)} "
            f"{_person(rng)}, {_person(rng)} and the {name} contributors.",
        ),
        Block(
            "para",
            f"{name} is distributed under the terms reproduced below. Upstream: "
            f"https://{name}.example.org/ - Debian packaging by {_person(rng)}.",
        ),
    )
    return Source(
        key=f"notice/{licence_name}/{package}",
        doc_type="notice",
        unit=f"notice/{licence_name}",
        title=f"{name} copyright notice",
        correspondent=None,
        document_type="Licence",
        date=None,
        blocks=head + tuple(_paragraph_blocks(source_text("licences", licence_name), limit=limit)),
        font="Courier",
        font_size=9.0,
        meta={"embeds": f"licence/{licence_name}"},
    )


def manual(*, name: str, limit: int = 11000) -> Source:
    """A Debian manual, 3-5 pages, with a page break every ~2,800 characters."""
    blocks = _paragraph_blocks(source_text("manuals", name), limit=limit, mono=True)
    paged: list[Block] = [Block("title", name)]
    used = 0
    for block in blocks:
        if used > 2600:
            paged.append(Block("pagebreak"))
            used = 0
        paged.append(block)
        used += len(block.text)
    return Source(
        key=f"manual/{name}",
        doc_type="manual",
        unit=f"manual/{name}",
        title=f"{name} manual",
        correspondent=None,
        document_type="Manual",
        date=None,
        blocks=tuple(paged),
        font="Courier",
        font_size=9.0,
    )


def pages_of(source: Source) -> list[list[Block]]:
    pages: list[list[Block]] = [[]]
    for block in source.blocks:
        if block.style == "pagebreak":
            pages.append([])
        else:
            pages[-1].append(block)
    return [page for page in pages if page]


def manual_part(source: Source, *, pages: slice, relation: str) -> Source:
    """Some pages of a manual (an extract, or one half of it)."""
    chosen = pages_of(source)[pages]
    blocks: list[Block] = []
    for page in chosen:
        if blocks:
            blocks.append(Block("pagebreak"))
        blocks.extend(page)
    label = f"{pages.start or 0}-{pages.stop}"
    return replace(
        source,
        key=f"{source.key}/{relation}{label}",
        title=f"{source.title} ({relation})",
        blocks=tuple(blocks),
        part_of=(source.key, relation),
    )


def appendix(*, manual_name: str, licence_name: str) -> Source:
    """A manual with a licence reproduced in its appendix (contains that licence)."""
    base = manual(name=manual_name, limit=5500)
    lic = licence(name=licence_name)
    blocks = (*base.blocks, Block("pagebreak"), Block("heading", "Appendix: licence"), *lic.blocks)
    return replace(
        base,
        key=f"appendix/{manual_name}/{licence_name}",
        doc_type="appendix",
        unit=f"licence/{LICENCE_UNITS.get(licence_name, licence_name)}",
        title=f"{manual_name} manual with licence",
        blocks=blocks,
        meta={"contains": lic.key},
    )
