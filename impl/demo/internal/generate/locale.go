package main

// name is a name in Latin script and in the person's own script (the same where that script is Latin).
type name struct {
	latin, native string
}

// surname is a family name in its male and female forms (the same in German, different in Czech,
// Greek and Bulgarian).
type surname struct {
	male, female name
}

// city is a real place with its position, so that addresses, postal codes, area codes and
// coordinates fit together.
type city struct {
	name, area string
	zipCodes   []string
	// lat, long and altitude of the city centre; addresses are scattered a few kilometres around it.
	lat, long, altitude float64
	// fixedPattern is a landline subscriber number with the area code, '#' standing for a digit.
	fixedPattern string
	landmarks    []string
}

// locale holds what differs between the countries the demo customers live in.
type locale struct {
	country     string // ISO 3166-1 alpha-2
	language    string // ISO 639-1
	callingCode string
	weight      int // how many customers of a hundred come from here

	maleNames, femaleNames []name
	surnames               []surname

	titles, postNominals []string

	mobilePatterns  []string
	mobileOperators []string
	fixedOperator   string

	cities     []city
	streets    []string
	buildings  []string
	trades     []string
	legalForms []string
}

// latin returns names whose Latin and native spelling are the same.
func latin(names ...string) []name {
	out := make([]name, len(names))
	for i, n := range names {
		out[i] = name{n, n}
	}
	return out
}

// unisex returns surnames with a single form for men and women.
func unisex(names ...string) []surname {
	out := make([]surname, len(names))
	for i, n := range names {
		out[i] = surname{name{n, n}, name{n, n}}
	}
	return out
}

var (
	germanMale = latin("Lukas", "Tobias", "Florian", "Stefan", "Michael", "Andreas", "Thomas", "Markus",
		"Daniel", "Christian", "Alexander", "David", "Maximilian", "Felix", "Jakob", "Paul", "Johannes",
		"Martin", "Georg", "Sebastian")
	germanFemale = latin("Anna", "Julia", "Lena", "Katharina", "Sarah", "Laura", "Lisa", "Sophie", "Hannah",
		"Theresa", "Elena", "Magdalena", "Christina", "Johanna", "Sabine", "Eva", "Barbara", "Verena",
		"Nina", "Marie")
	germanBuildings = []string{"Haus A", "Haus B", "Hinterhaus", "Vorderhaus", "Hof 2", "Block C"}
	germanTrades    = []string{"Handel", "Logistik", "Bau", "Elektro", "Holzbau", "Feinkost", "Textil",
		"Möbel", "Getränke", "Haustechnik", "Druck", "Gastro"}
)

// locales are the countries of the demo customers, Austria first: the tenant is Austrian.
var locales = []locale{
	{
		country: "AT", language: "de", callingCode: "+43", weight: 40,
		maleNames: germanMale, femaleNames: germanFemale,
		surnames: unisex("Gruber", "Huber", "Bauer", "Wagner", "Müller", "Pichler", "Steiner", "Moser",
			"Mayer", "Hofer", "Leitner", "Berger", "Fuchs", "Eder", "Fischer", "Schmid", "Winkler", "Weber",
			"Schwarz", "Maier", "Schneider", "Reiter", "Brunner", "Lang", "Baumgartner", "Auer", "Wimmer",
			"Egger", "Aigner", "Haas"),
		titles:          []string{"Mag.", "Dr.", "DI", "Ing.", "MMag.", "Prof."},
		postNominals:    []string{"BA", "MA", "BSc", "MSc", "MBA", "LL.M."},
		mobilePatterns:  []string{"664#######", "660#######", "676#######", "650#######", "699########"},
		mobileOperators: []string{"A1 Telekom", "Magenta Telekom", "Drei"},
		fixedOperator:   "A1 Telekom",
		cities: []city{
			{"Wien", "Wien", []string{"1010", "1020", "1030", "1040", "1050", "1060", "1070", "1080", "1090", "1100", "1130", "1190"},
				48.2081743, 16.3738189, 171, "1#######",
				[]string{"Stephansdom, main entrance", "Westbahnhof, north exit", "Naschmarkt, Kettenbrückengasse end", "Prater, Riesenrad"}},
			{"Graz", "Steiermark", []string{"8010", "8020", "8036", "8042", "8045"},
				47.0707, 15.4395, 353, "316######",
				[]string{"Hauptplatz, Rathaus", "Graz Hauptbahnhof", "Schlossberg, Uhrturm"}},
			{"Linz", "Oberösterreich", []string{"4020", "4030", "4040"},
				48.3064, 14.2861, 266, "732######",
				[]string{"Hauptplatz, Dreifaltigkeitssäule", "Linz Hauptbahnhof", "Lentos Kunstmuseum"}},
			{"Salzburg", "Salzburg", []string{"5020", "5023", "5026"},
				47.8095, 13.0550, 424, "662######",
				[]string{"Mirabellgarten, main gate", "Salzburg Hauptbahnhof", "Getreidegasse, Mozarts Geburtshaus"}},
			{"Innsbruck", "Tirol", []string{"6020"},
				47.2692, 11.4041, 574, "512######",
				[]string{"Goldenes Dachl", "Innsbruck Hauptbahnhof", "Hofgarten, south entrance"}},
		},
		streets: []string{"Hauptstraße", "Bahnhofstraße", "Kirchengasse", "Schulgasse", "Lindengasse",
			"Mühlgasse", "Feldgasse", "Gartengasse", "Rosengasse", "Wiener Straße", "Linzer Straße", "Ringstraße"},
		buildings:  germanBuildings,
		trades:     germanTrades,
		legalForms: []string{"GmbH", "KG", "OG", "e.U.", "AG"},
	},
	{
		country: "DE", language: "de", callingCode: "+49", weight: 22,
		maleNames: germanMale, femaleNames: germanFemale,
		surnames: unisex("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
			"Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder",
			"Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange"),
		titles:          []string{"Dr.", "Prof. Dr.", "Dipl.-Ing.", "Dipl.-Kfm."},
		postNominals:    []string{"M.Sc.", "B.A.", "MBA", "LL.M."},
		mobilePatterns:  []string{"151########", "160#######", "170#######", "176########"},
		mobileOperators: []string{"Telekom Deutschland", "Vodafone", "O2 Telefónica"},
		fixedOperator:   "Telekom Deutschland",
		cities: []city{
			{"Berlin", "Berlin", []string{"10115", "10117", "10178", "10243", "10405", "10437", "12043"},
				52.5200066, 13.4049540, 34, "30########",
				[]string{"Alexanderplatz, Weltzeituhr", "Berlin Hauptbahnhof", "Brandenburger Tor"}},
			{"München", "Bayern", []string{"80331", "80333", "80469", "80636", "81667"},
				48.1351253, 11.5819806, 519, "89########",
				[]string{"Marienplatz, Neues Rathaus", "München Hauptbahnhof", "Viktualienmarkt, Maibaum"}},
			{"Hamburg", "Hamburg", []string{"20095", "20354", "20457", "22765"},
				53.5510846, 9.9936819, 6, "40########",
				[]string{"Rathausmarkt", "Hamburg Hauptbahnhof", "Landungsbrücken, Brücke 3"}},
		},
		streets: []string{"Hauptstraße", "Schulstraße", "Gartenstraße", "Bahnhofstraße", "Dorfstraße",
			"Bergstraße", "Birkenweg", "Lindenstraße", "Kirchstraße", "Waldstraße", "Goethestraße", "Schillerstraße"},
		buildings:  germanBuildings,
		trades:     germanTrades,
		legalForms: []string{"GmbH", "GmbH & Co. KG", "AG", "e.K.", "UG"},
	},
	{
		country: "CH", language: "de", callingCode: "+41", weight: 10,
		maleNames: germanMale, femaleNames: germanFemale,
		surnames: unisex("Müller", "Meier", "Schmid", "Keller", "Weber", "Huber", "Schneider", "Meyer",
			"Steiner", "Fischer", "Gerber", "Brunner", "Baumann", "Frei", "Zimmermann", "Moser", "Widmer",
			"Wyss", "Graf", "Roth"),
		titles:          []string{"Dr.", "Prof.", "lic. iur."},
		postNominals:    []string{"MSc", "BSc", "MBA", "MAS"},
		mobilePatterns:  []string{"76#######", "77#######", "78#######", "79#######"},
		mobileOperators: []string{"Swisscom", "Sunrise", "Salt"},
		fixedOperator:   "Swisscom",
		cities: []city{
			{"Zürich", "Zürich", []string{"8001", "8004", "8005", "8032", "8050"},
				47.3768866, 8.5416940, 408, "44#######",
				[]string{"Paradeplatz, tram stop", "Zürich HB, main hall", "Grossmünster"}},
			{"Basel", "Basel-Stadt", []string{"4051", "4052", "4056"},
				47.5596, 7.5886, 260, "61#######",
				[]string{"Marktplatz, Rathaus", "Basel SBB", "Mittlere Brücke"}},
		},
		streets: []string{"Bahnhofstrasse", "Hauptstrasse", "Dorfstrasse", "Kirchweg", "Seestrasse",
			"Schulhausstrasse", "Poststrasse", "Gartenstrasse"},
		buildings:  germanBuildings,
		trades:     germanTrades,
		legalForms: []string{"AG", "GmbH", "Genossenschaft"},
	},
	{
		country: "CZ", language: "cs", callingCode: "+420", weight: 12,
		maleNames:   latin("Jan", "Petr", "Jiří", "Tomáš", "Martin", "Pavel", "Jakub", "Lukáš", "Ondřej", "Michal", "Josef", "David"),
		femaleNames: latin("Jana", "Eva", "Tereza", "Lucie", "Kateřina", "Petra", "Veronika", "Markéta", "Barbora", "Hana", "Lenka", "Alena"),
		surnames: []surname{
			{name{"Novák", "Novák"}, name{"Nováková", "Nováková"}},
			{name{"Svoboda", "Svoboda"}, name{"Svobodová", "Svobodová"}},
			{name{"Novotný", "Novotný"}, name{"Novotná", "Novotná"}},
			{name{"Dvořák", "Dvořák"}, name{"Dvořáková", "Dvořáková"}},
			{name{"Černý", "Černý"}, name{"Černá", "Černá"}},
			{name{"Procházka", "Procházka"}, name{"Procházková", "Procházková"}},
			{name{"Kučera", "Kučera"}, name{"Kučerová", "Kučerová"}},
			{name{"Veselý", "Veselý"}, name{"Veselá", "Veselá"}},
			{name{"Horák", "Horák"}, name{"Horáková", "Horáková"}},
			{name{"Pokorný", "Pokorný"}, name{"Pokorná", "Pokorná"}},
		},
		titles:          []string{"Ing.", "Mgr.", "MUDr.", "JUDr.", "PhDr."},
		postNominals:    []string{"Ph.D.", "MBA", "DiS.", "CSc."},
		mobilePatterns:  []string{"603######", "604######", "721######", "777######"},
		mobileOperators: []string{"O2 Czech Republic", "T-Mobile Czech Republic", "Vodafone Czech Republic"},
		fixedOperator:   "O2 Czech Republic",
		cities: []city{
			{"Praha", "Hlavní město Praha", []string{"110 00", "120 00", "130 00", "140 00", "170 00"},
				50.0755381, 14.4378005, 235, "2########",
				[]string{"Staroměstské náměstí, orloj", "Praha hlavní nádraží", "Václavské náměstí, socha svatého Václava"}},
			{"Brno", "Jihomoravský kraj", []string{"602 00", "612 00", "615 00"},
				49.1950602, 16.6068371, 237, "54#######",
				[]string{"Náměstí Svobody", "Brno hlavní nádraží", "hrad Špilberk"}},
		},
		streets: []string{"Nádražní", "Školní", "Hlavní", "Zahradní", "Husova", "Masarykova", "Komenského",
			"Palackého", "Smetanova", "Jiráskova"},
		buildings:  []string{"Budova A", "Budova B", "Blok C", "Dvorní trakt"},
		trades:     []string{"Stavby", "Logistika", "Elektro", "Obchod", "Nábytek", "Potraviny", "Tisk"},
		legalForms: []string{"s.r.o.", "a.s.", "v.o.s."},
	},
	{
		country: "GR", language: "el", callingCode: "+30", weight: 8,
		maleNames: []name{{"Giorgos", "Γιώργος"}, {"Dimitris", "Δημήτρης"}, {"Nikos", "Νίκος"}, {"Kostas", "Κώστας"},
			{"Ioannis", "Ιωάννης"}, {"Christos", "Χρήστος"}, {"Panagiotis", "Παναγιώτης"}, {"Vasilis", "Βασίλης"}},
		femaleNames: []name{{"Maria", "Μαρία"}, {"Eleni", "Ελένη"}, {"Katerina", "Κατερίνα"}, {"Sofia", "Σοφία"},
			{"Dimitra", "Δήμητρα"}, {"Anna", "Άννα"}, {"Georgia", "Γεωργία"}, {"Ioanna", "Ιωάννα"}},
		surnames: []surname{
			{name{"Papadopoulos", "Παπαδόπουλος"}, name{"Papadopoulou", "Παπαδοπούλου"}},
			{name{"Georgiou", "Γεωργίου"}, name{"Georgiou", "Γεωργίου"}},
			{name{"Nikolaidis", "Νικολαΐδης"}, name{"Nikolaidou", "Νικολαΐδου"}},
			{name{"Papadakis", "Παπαδάκης"}, name{"Papadaki", "Παπαδάκη"}},
			{name{"Vlachos", "Βλάχος"}, name{"Vlachou", "Βλάχου"}},
			{name{"Oikonomou", "Οικονόμου"}, name{"Oikonomou", "Οικονόμου"}},
			{name{"Karagiannis", "Καραγιάννης"}, name{"Karagianni", "Καραγιάννη"}},
			{name{"Dimitriou", "Δημητρίου"}, name{"Dimitriou", "Δημητρίου"}},
		},
		titles:          []string{"Dr.", "Prof."},
		postNominals:    []string{"MSc", "PhD", "MBA"},
		mobilePatterns:  []string{"694#######", "697#######", "698#######", "690#######"},
		mobileOperators: []string{"Cosmote", "Vodafone Greece", "Nova"},
		fixedOperator:   "OTE",
		cities: []city{
			{"Athina", "Attiki", []string{"105 57", "105 58", "106 71", "112 51", "115 21"},
				37.9838096, 23.7275388, 70, "21########",
				[]string{"Syntagma Square, metro entrance", "Monastiraki Square", "Acropolis Museum"}},
			{"Thessaloniki", "Kentriki Makedonia", []string{"546 24", "546 25", "546 30"},
				40.6400629, 22.9444191, 12, "231#######",
				[]string{"White Tower", "Aristotelous Square", "Thessaloniki railway station"}},
		},
		streets:    []string{"Ermou", "Stadiou", "Panepistimiou", "Akadimias", "Patision", "Solonos", "Tsimiski", "Egnatia"},
		buildings:  []string{"Building A", "Building B", "Block 2"},
		trades:     []string{"Trading", "Logistics", "Foods", "Olive Oil", "Shipping", "Textiles"},
		legalForms: []string{"S.A.", "Ltd", "P.C."},
	},
	{
		country: "BG", language: "bg", callingCode: "+359", weight: 8,
		maleNames: []name{{"Georgi", "Георги"}, {"Ivan", "Иван"}, {"Dimitar", "Димитър"}, {"Nikolay", "Николай"},
			{"Petar", "Петър"}, {"Hristo", "Христо"}, {"Stoyan", "Стоян"}, {"Todor", "Тодор"}},
		femaleNames: []name{{"Maria", "Мария"}, {"Ivana", "Ивана"}, {"Elena", "Елена"}, {"Desislava", "Десислава"},
			{"Gergana", "Гергана"}, {"Petya", "Петя"}, {"Teodora", "Теодора"}, {"Yana", "Яна"}},
		surnames: []surname{
			{name{"Ivanov", "Иванов"}, name{"Ivanova", "Иванова"}},
			{name{"Georgiev", "Георгиев"}, name{"Georgieva", "Георгиева"}},
			{name{"Dimitrov", "Димитров"}, name{"Dimitrova", "Димитрова"}},
			{name{"Petrov", "Петров"}, name{"Petrova", "Петрова"}},
			{name{"Nikolov", "Николов"}, name{"Nikolova", "Николова"}},
			{name{"Hristov", "Христов"}, name{"Hristova", "Христова"}},
			{name{"Stoyanov", "Стоянов"}, name{"Stoyanova", "Стоянова"}},
			{name{"Todorov", "Тодоров"}, name{"Todorova", "Тодорова"}},
		},
		titles:          []string{"Dr.", "Prof.", "Eng."},
		postNominals:    []string{"MSc", "PhD", "MBA"},
		mobilePatterns:  []string{"87#######", "88#######", "89#######", "98#######"},
		mobileOperators: []string{"A1 Bulgaria", "Yettel Bulgaria", "Vivacom"},
		fixedOperator:   "Vivacom",
		cities: []city{
			{"Sofia", "Sofia-grad", []string{"1000", "1142", "1164", "1404", "1407"},
				42.6977082, 23.3218675, 550, "2#######",
				[]string{"Alexander Nevsky Cathedral", "NDK, main entrance", "Serdika metro station"}},
			{"Plovdiv", "Plovdiv", []string{"4000", "4002", "4004"},
				42.1354079, 24.7452904, 164, "32######",
				[]string{"Roman theatre of Plovdiv", "Dzhumaya Square", "Plovdiv central railway station"}},
		},
		streets: []string{"ul. Graf Ignatiev", "bul. Vitosha", "ul. Rakovski", "ul. Shipka", "ul. Oborishte",
			"bul. Bulgaria", "ul. Tsar Shishman"},
		buildings:  []string{"bl. 12", "bl. 27", "Building A"},
		trades:     []string{"Trade", "Logistics", "Foods", "Construction", "Wine"},
		legalForms: []string{"OOD", "EOOD", "AD"},
	},
}
