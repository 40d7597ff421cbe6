package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brianvoe/gofakeit/v7"

	"github.com/cyrexa/customer-api/gen"
)

// statusCycle assigns customer statuses by number, so that every published status occurs and most
// customers are verified.
var statusCycle = []gen.CustomerStatus{
	gen.CustomerStatusVerified,
	gen.CustomerStatusNew,
	gen.CustomerStatusVerified,
	gen.CustomerStatusUnderVerification,
	gen.CustomerStatusVerified,
	gen.CustomerStatusBlacklisted,
	gen.CustomerStatusVerified,
	gen.CustomerStatusUnderInvestigation,
	gen.CustomerStatusNew,
	gen.CustomerStatusDispute,
	gen.CustomerStatusVerified,
	gen.CustomerStatusOnHold,
	gen.CustomerStatusBankrupted,
}

// emailDomains are reserved for examples (RFC 2606), so no demo mail can reach anyone.
var emailDomains = []string{"example.com", "example.net", "example.org"}

// plainWord is what the three-word address accepts from gofakeit's noun list.
var plainWord = regexp.MustCompile(`^[a-z]{3,12}$`)

// builder draws one customer from its own generator.
type builder struct {
	f        *gofakeit.Faker
	id       string
	loc      *locale
	business bool
}

// person is the natural person behind a customer, drawn first because most fields derive from it.
type person struct {
	male        bool
	first, last name
	title       string
	postNominal string
	email       string
	mobile      string
	home        *city
}

// customerID returns the id of customer n.
func customerID(n int) string {
	return fmt.Sprintf("cus-%04d", n)
}

// newCustomer returns customer n, the same on every call.
func newCustomer(n int) gen.Customer {
	_, wholesale := membership(n)
	b := &builder{
		f:  gofakeit.NewFaker(rand.NewPCG(seed, uint64(n)), false),
		id: customerID(n),
		// Wholesale customers are businesses except a few sole traders; a few retail customers are small businesses.
		business: wholesale && n%7 != 0 || !wholesale && n%10 == 3,
	}
	b.loc = b.pickLocale()
	p := b.person()

	customerType := gen.CustomerTypePerson
	customerName := p.first.latin + " " + p.last.latin
	company := ""
	if b.business {
		customerType = gen.CustomerTypeOrganization
		company = b.companyName()
		customerName = company
		p.email = b.businessEmail(p, company)
	}
	status := statusCycle[(n-1)%len(statusCycle)]

	return gen.Customer{
		Id:             new(b.id),
		CustomerType:   new(customerType),
		CustomerName:   new(customerName),
		CustomerStatus: new(status),
		Categorization: new(b.categorization()),
		Notifications:  new(b.notifications()),
		Person:         new(b.genPerson(p, wholesale, company, status)),
		Twofa:          new(b.twofa(p)),
	}
}

// pickLocale draws the customer's country, weighted by locale.weight.
func (b *builder) pickLocale() *locale {
	total := 0
	for _, l := range locales {
		total += l.weight
	}
	r := b.f.IntN(total)
	for i := range locales {
		if r < locales[i].weight {
			return &locales[i]
		}
		r -= locales[i].weight
	}
	panic("unreachable")
}

func (b *builder) person() person {
	p := person{male: b.f.Bool()}
	s := pick(b.f, b.loc.surnames)
	if p.male {
		p.first, p.last = pick(b.f, b.loc.maleNames), s.male
	} else {
		p.first, p.last = pick(b.f, b.loc.femaleNames), s.female
	}
	p.title = pick(b.f, b.loc.titles)
	p.postNominal = pick(b.f, b.loc.postNominals)
	p.home = &b.loc.cities[b.f.IntN(len(b.loc.cities))]
	p.email = fmt.Sprintf("%s.%s@%s", slug(p.first.latin), slug(p.last.latin), pick(b.f, emailDomains))
	p.mobile = b.f.Numerify(pick(b.f, b.loc.mobilePatterns))
	return p
}

// companyName makes a name such as "Huber Logistik GmbH" rather than using gofakeit's list of real companies.
func (b *builder) companyName() string {
	founder := pick(b.f, b.loc.surnames).male.latin
	return fmt.Sprintf("%s %s %s", founder, pick(b.f, b.loc.trades), pick(b.f, b.loc.legalForms))
}

func (b *builder) businessEmail(p person, company string) string {
	first, _ := utf8.DecodeRuneInString(slug(p.first.latin))
	return fmt.Sprintf("%c.%s@%s.example", first, slug(p.last.latin), slug(company))
}

func (b *builder) categorization() gen.Categorization {
	return pickWeighted(b.f, []gen.Categorization{gen.Category1, gen.Category2, gen.Category3}, []int{5, 3, 2})
}

func (b *builder) notifications() []gen.NotificationPreference {
	return []gen.NotificationPreference{
		{NotificationType: new("Marketingemails"), IsEnabled: new(b.f.Bool())},
		{NotificationType: new("Transactionalemails"), IsEnabled: new(b.f.IntN(10) < 9)},
	}
}

func (b *builder) genPerson(p person, wholesale bool, company string, status gen.CustomerStatus) gen.Person {
	salutation, generation := "Ms.", pick(b.f, []string{"Jr.", "Sr."})
	gender := "Female"
	if p.male {
		salutation, gender = "Mr.", "Male"
	}
	placeOfBirth := p.home.name
	if b.f.IntN(10) >= 7 {
		placeOfBirth = pick(b.f, b.loc.cities).name
	}
	return gen.Person{
		FirstName: new(gen.PersonName{
			Name: new(p.first.latin), Native: new(p.first.native), Abbreviation: new(initial(p.first.latin)),
			Language: new(b.loc.language), Order: new(1), Prefix: new(salutation), Suffix: new(generation),
		}),
		LastName: new(gen.PersonName{
			Name: new(p.last.latin), Native: new(p.last.native), Abbreviation: new(initial(p.last.latin)),
			Language: new(b.loc.language), Order: new(2), Prefix: new(p.title), Suffix: new(p.postNominal),
		}),
		FullName:         new(fmt.Sprintf("%s %s %s %s", p.title, p.first.latin, p.last.latin, p.postNominal)),
		GroupId:          new(b.groupID(wholesale)),
		Gender:           new(gender),
		DateOfBirth:      new(b.date(1950, 2004)),
		PlaceOfBirth:     new(placeOfBirth),
		Nationality:      new(b.loc.country),
		PinCode:          new(b.f.Numerify(pick(b.f, []string{"####", "######"}))),
		Password:         new(b.f.Password(true, true, true, true, false, b.f.IntRange(12, 20))),
		Email:            new(p.email),
		TelephoneNumbers: new(b.telephoneNumbers(p)),
		Addresses:        new(b.addresses(p)),
		Documents:        new(b.documents(p, company, status)),
		SecretQuestion:   new(b.secretQuestions()),
	}
}

func (b *builder) groupID(wholesale bool) string {
	switch {
	case b.business && wholesale:
		return "grp-wholesale-partners"
	case b.business:
		return "grp-retail-business"
	case wholesale:
		return "grp-wholesale-sole-traders"
	default:
		return pick(b.f, []string{"grp-retail-private", "grp-retail-loyalty"})
	}
}

// date returns an ISO 8601 date between the first and the last given year.
func (b *builder) date(fromYear, toYear int) string {
	year := b.f.IntRange(fromYear, toYear)
	month := time.Month(b.f.IntRange(1, 12))
	lastDay := time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(year, month, b.f.IntRange(1, lastDay), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

func (b *builder) telephoneNumbers(p person) []gen.TelephoneNumber {
	mobilePurpose, fixedPurpose := "personal", "home"
	if b.business {
		mobilePurpose, fixedPurpose = "work", "office"
	}
	numbers := []gen.TelephoneNumber{{
		PhoneType: new("mobile"), Operator: new(pick(b.f, b.loc.mobileOperators)), Encoding: new("numbers"),
		Country: new(b.loc.callingCode), Number: new(p.mobile), Purpose: new(mobilePurpose),
	}}
	if b.business || b.f.IntN(10) < 6 {
		numbers = append([]gen.TelephoneNumber{{
			PhoneType: new("fixed"), Operator: new(b.loc.fixedOperator), Encoding: new("numbers"),
			Country: new(b.loc.callingCode), Number: new(b.f.Numerify(p.home.fixedPattern)), Purpose: new(fixedPurpose),
		}}, numbers...)
	}
	return numbers
}

func (b *builder) addresses(p person) []gen.CustomerAddress {
	purpose, others := "home", []string{"billing", "shipping"}
	if b.business {
		purpose, others = "registered", []string{"billing", "delivery"}
	}
	addresses := []gen.CustomerAddress{{AddressPurpose: new(purpose), Address: new(b.address(p.home))}}
	if b.f.Bool() {
		c := p.home
		if b.f.IntN(4) == 0 {
			c = &b.loc.cities[b.f.IntN(len(b.loc.cities))]
		}
		addresses = append(addresses, gen.CustomerAddress{AddressPurpose: new(pick(b.f, others)), Address: new(b.address(c))})
	}
	return addresses
}

func (b *builder) address(c *city) gen.Address {
	number := b.f.IntRange(1, 180)
	streetNumber := []string{strconv.Itoa(number)}
	switch b.f.IntN(7) {
	case 0:
		streetNumber = []string{strconv.Itoa(number) + pick(b.f, []string{"a", "b"})}
	case 1:
		streetNumber = append(streetNumber, strconv.Itoa(number+2))
	}
	return gen.Address{
		Country:      new(b.loc.country),
		Area:         new(c.area),
		ZipCode:      new(pick(b.f, c.zipCodes)),
		City:         new(c.name),
		Street:       new(pick(b.f, b.loc.streets)),
		StreetNumber: new(streetNumber),
		Building:     new(pick(b.f, b.loc.buildings)),
		Apartment:    new(strconv.Itoa(b.f.IntRange(1, 40))),
		Entrance:     new(strconv.Itoa(b.f.IntRange(1, 4))),
		Floor:        new(strconv.Itoa(b.f.IntRange(0, 8))),
		DoorNumber:   new(strconv.Itoa(b.f.IntRange(1, 24))),
		GeoPosition: new(gen.GeoPosition{
			// A few kilometres around the centre, to the 7 decimals (about 1 cm) that positions are stored with.
			Latitude:  new(round(c.lat+b.f.Float64Range(-0.03, 0.03), 7)),
			Longitude: new(round(c.long+b.f.Float64Range(-0.045, 0.045), 7)),
			Altitude:  new(round(c.altitude+b.f.Float64Range(-min(12, c.altitude/2), 25), 1)),
		}),
		Alternative:      new(b.threeWords()),
		RelatedToAddress: new(b.relatedAddresses(c)),
		AdditionalData:   new(b.additionalData()),
	}
}

// threeWords returns three different plain nouns, like a what3words address.
func (b *builder) threeWords() gen.AlternativeAddress {
	var words []string
	for len(words) < 3 {
		w := b.f.NounConcrete()
		if plainWord.MatchString(w) && !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	return gen.AlternativeAddress{Word1: new(words[0]), Word2: new(words[1]), Word3: new(words[2])}
}

func (b *builder) relatedAddresses(c *city) []gen.RelatedAddress {
	i := b.f.IntN(len(c.landmarks))
	related := []gen.RelatedAddress{{RelationType: new("near_by"), Address: new(c.landmarks[i])}}
	if b.f.Bool() {
		j := (i + 1 + b.f.IntN(len(c.landmarks)-1)) % len(c.landmarks)
		related = append(related, gen.RelatedAddress{RelationType: new("near_by"), Address: new(c.landmarks[j])})
	}
	return related
}

func (b *builder) additionalData() []gen.TypedValue {
	note := pick(b.f, []string{"ring twice", "leave parcels with the concierge", "use the side entrance",
		"call before delivery", "goods entrance in the courtyard"})
	if b.business {
		return []gen.TypedValue{
			typed("floorArea", "Number", strconv.Itoa(b.f.IntRange(120, 2400))),
			typed("openingHours", "String", pick(b.f, []string{"Mo-Fr 08:00-17:00", "Mo-Fr 07:30-16:00", "Mo-Sa 09:00-18:00"})),
			typed("deliveryNote", "String", note),
		}
	}
	return []gen.TypedValue{
		typed("floorArea", "Number", strconv.Itoa(b.f.IntRange(35, 180))),
		typed("residents", "Number", strconv.Itoa(b.f.IntRange(1, 5))),
		typed("deliveryNote", "String", note),
	}
}

// documents returns the KYC documents of the person and, for a business, the KYB documents of the company.
func (b *builder) documents(p person, company string, status gen.CustomerStatus) []gen.Document {
	var docs []gen.Document
	if b.business {
		co := slug(company)
		docs = append(docs,
			b.document(gen.DocumentPurposeKYB, gen.DocumentTypeRegisteredAddress, "registered-address-"+co+".pdf", status),
			b.document(gen.DocumentPurposeKYB, gen.DocumentTypeShareholderStructure, "shareholder-structure-"+co+".pdf", status),
			b.document(gen.DocumentPurposeKYB, gen.DocumentTypeAccountAuthority, "account-authority-"+co+".pdf", status),
		)
		if b.f.Bool() {
			docs = append(docs, b.document(gen.DocumentPurposeKYB, gen.DocumentTypeOperationAddress, "operation-address-"+co+".pdf", status))
		}
	}

	who := slug(p.first.latin + " " + p.last.latin)
	identity := gen.DocumentTypePassport
	if b.f.IntN(10) < 6 {
		docs = append(docs, b.identityDocument(gen.DocumentTypePassport, "passport-"+who+".pdf", status))
	} else {
		identity = gen.DocumentTypeIDFrontSide
		docs = append(docs,
			b.identityDocument(gen.DocumentTypeIDFrontSide, "id-front-side-"+who+".jpg", status),
			b.identityDocument(gen.DocumentTypeIDBackSide, "id-back-side-"+who+".jpg", status),
		)
	}
	docs = append(docs, b.document(gen.DocumentPurposeKYC, gen.DocumentTypeSelfie, "selfie-"+who+".jpg", status))
	if b.f.Bool() {
		docs = append(docs, b.document(gen.DocumentPurposeKYC, gen.DocumentTypeLivenessDetection, "liveliness-detection-"+who+".mp4", status))
	}
	if b.business || b.f.Bool() {
		docs = append(docs, b.document(gen.DocumentPurposePEPAndSanction, identity, "pep-sanction-screening-"+who+".pdf", status))
	}
	return docs
}

// identityDocument is a KYC document with the issuing country and expiry date in its metadata.
func (b *builder) identityDocument(docType gen.DocumentType, fileName string, status gen.CustomerStatus) gen.Document {
	doc := b.document(gen.DocumentPurposeKYC, docType, fileName, status)
	expiry := b.date(2027, 2035)
	if *doc.Status == gen.DocumentStatusExpired {
		expiry = b.date(2021, 2024)
	}
	*doc.Metadata = append(*doc.Metadata,
		typed("issuingCountry", "String", b.loc.country),
		typed("expiryDate", "String", expiry),
	)
	return doc
}

func (b *builder) document(purpose gen.DocumentPurpose, docType gen.DocumentType, fileName string, customerStatus gen.CustomerStatus) gen.Document {
	status := b.documentStatus(customerStatus)
	return gen.Document{
		Purpose:              new(purpose),
		Name:                 new(fileName),
		DocumentType:         new(docType),
		Location:             new(fmt.Sprintf("s3://kyc-documents/%s/%s/%s", tenantID, b.id, fileName)),
		VerificationResponse: new(verificationResponse(purpose, status)),
		Status:               new(status),
		Metadata:             new(b.fileMetadata(fileName)),
	}
}

// documentStatus follows the customer's status: a verified customer has verified documents, one on hold
// an expired one, and so on.
func (b *builder) documentStatus(s gen.CustomerStatus) gen.DocumentStatus {
	switch s {
	case gen.CustomerStatusNew:
		return pick(b.f, []gen.DocumentStatus{gen.DocumentStatusIncomplete, gen.DocumentStatusUnderVerification})
	case gen.CustomerStatusUnderVerification, gen.CustomerStatusUnderInvestigation:
		return gen.DocumentStatusUnderVerification
	case gen.CustomerStatusBlacklisted:
		return gen.DocumentStatusDeclined
	case gen.CustomerStatusOnHold:
		return gen.DocumentStatusExpired
	default:
		return gen.DocumentStatusVerified
	}
}

// verificationResponses are what the verification provider answers, by purpose and status of the document.
var verificationResponses = map[gen.DocumentPurpose]map[gen.DocumentStatus]string{
	gen.DocumentPurposeKYC: {
		gen.DocumentStatusVerified:          "document authentic",
		gen.DocumentStatusDeclined:          "face does not match the identity document",
		gen.DocumentStatusUnderVerification: "pending manual review",
		gen.DocumentStatusIncomplete:        "image too blurry to read",
		gen.DocumentStatusExpired:           "identity document expired",
	},
	gen.DocumentPurposeKYB: {
		gen.DocumentStatusVerified:          "company register extract matches",
		gen.DocumentStatusDeclined:          "register extract does not match the company name",
		gen.DocumentStatusUnderVerification: "pending manual review",
		gen.DocumentStatusIncomplete:        "page 2 missing",
		gen.DocumentStatusExpired:           "register extract older than 3 months",
	},
	gen.DocumentPurposePEPAndSanction: {
		gen.DocumentStatusVerified:          "no hits on PEP and sanction lists",
		gen.DocumentStatusDeclined:          "potential match on the EU sanction list",
		gen.DocumentStatusUnderVerification: "screening in progress",
		gen.DocumentStatusIncomplete:        "date of birth missing for screening",
		gen.DocumentStatusExpired:           "screening older than 12 months",
	},
}

func verificationResponse(purpose gen.DocumentPurpose, status gen.DocumentStatus) string {
	return verificationResponses[purpose][status]
}

func (b *builder) fileMetadata(fileName string) []gen.TypedValue {
	size := typed("sizeKb", "Number", strconv.Itoa(b.f.IntRange(80, 2400)))
	switch {
	case strings.HasSuffix(fileName, ".jpg"):
		res := pick(b.f, [][2]int{{1920, 1080}, {3024, 4032}, {4032, 3024}, {1600, 1200}})
		return []gen.TypedValue{
			typed("mimeType", "String", "image/jpeg"),
			typed("width", "Number", strconv.Itoa(res[0])),
			typed("height", "Number", strconv.Itoa(res[1])),
			size,
		}
	case strings.HasSuffix(fileName, ".mp4"):
		return []gen.TypedValue{
			typed("mimeType", "String", "video/mp4"),
			typed("durationSeconds", "Number", strconv.Itoa(b.f.IntRange(3, 9))),
			size,
		}
	default:
		return []gen.TypedValue{
			typed("mimeType", "String", "application/pdf"),
			typed("pages", "Number", strconv.Itoa(b.f.IntRange(1, 6))),
			size,
		}
	}
}

// secretQuestions returns one or two different questions, each with an answer that fits it.
func (b *builder) secretQuestions() []gen.SecretQuestion {
	questions := []struct {
		question string
		answer   func() string
	}{
		{"What was the name of your first pet?", b.f.PetName},
		{"What was the make of your first car?", b.f.CarMaker},
		{"What is your favourite colour?", b.f.SafeColor},
		{"What is your favourite fruit?", b.f.Fruit},
		{"In which city was your mother born?", func() string { return pick(b.f, b.loc.cities).name }},
		{"What was the surname of your first teacher?", func() string { return pick(b.f, b.loc.surnames).female.latin }},
	}
	first := b.f.IntN(len(questions))
	chosen := []int{first}
	if b.f.Bool() {
		chosen = append(chosen, (first+1+b.f.IntN(len(questions)-1))%len(questions))
	}
	out := make([]gen.SecretQuestion, len(chosen))
	for i, q := range chosen {
		out[i] = gen.SecretQuestion{Question: new(questions[q].question), Answer: new(questions[q].answer())}
	}
	return out
}

func (b *builder) twofa(p person) gen.TwoFactorAuthentication {
	targetType, targetValue := "SMS", b.loc.callingCode+p.mobile
	if b.f.IntN(10) >= 7 {
		targetType, targetValue = "EMAIL", p.email
	}
	targetCode := b.f.Numerify("######")
	inputCode := targetCode
	codeMatch := b.f.IntN(10) < 8
	for !codeMatch && inputCode == targetCode {
		inputCode = b.f.Numerify("######")
	}
	return gen.TwoFactorAuthentication{
		TargetType:  new(targetType),
		TargetValue: new(targetValue),
		TargetCode:  new(targetCode),
		InputCode:   new(inputCode),
		Codematch:   new(codeMatch),
	}
}

func typed(name, typ, value string) gen.TypedValue {
	return gen.TypedValue{Name: new(name), Type: new(typ), Value: new(value)}
}

func pick[T any](f *gofakeit.Faker, options []T) T {
	return options[f.IntN(len(options))]
}

func pickWeighted[T any](f *gofakeit.Faker, options []T, weights []int) T {
	total := 0
	for _, w := range weights {
		total += w
	}
	r := f.IntN(total)
	for i, w := range weights {
		if r < w {
			return options[i]
		}
		r -= w
	}
	panic("unreachable")
}

func round(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(v*p) / p
}

// initial returns the abbreviation of a name, such as "A." for "Anna".
func initial(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	return string(r) + "."
}

// asciiFold spells the letters of the demo's Latin-script names in ASCII, for email addresses and file names.
var asciiFold = strings.NewReplacer(
	"ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss", "Ä", "Ae", "Ö", "Oe", "Ü", "Ue",
	"á", "a", "č", "c", "ď", "d", "é", "e", "ě", "e", "í", "i", "ň", "n", "ó", "o", "ř", "r",
	"š", "s", "ť", "t", "ú", "u", "ů", "u", "ý", "y", "ž", "z",
	"Á", "A", "Č", "C", "Ď", "D", "É", "E", "Í", "I", "Ř", "R", "Š", "S", "Ú", "U", "Ž", "Z",
)

// slug returns s in lower-case ASCII letters and digits, other runs of characters replaced by one '-'.
func slug(s string) string {
	var sb strings.Builder
	dash := false
	for _, r := range strings.ToLower(asciiFold.Replace(s)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && sb.Len() > 0 {
				sb.WriteByte('-')
			}
			sb.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return sb.String()
}
