package main

import "strings"

// Names for `roster dev seed`: varied on purpose (Indian, European, Latin
// American, African, Middle Eastern, East Asian), with accents, apostrophes
// and hyphens, so that search, sorting and folding meet realistic data.
// Every name has at least three characters, as the domain requires.

var seedFirstNames = strings.Fields(`
Aarav Aditi Aditya Akash Amit Ananya Anil Anjali Ankit Ann Anna Anne Annette Annika
Anushka Arjun Aryan Ayesha Deepa Deepak Divya Gaurav Harsh Isha Ishaan Kabir Kavya
Kiran Krishna Lakshmi Manish Meera Neha Nikhil Nisha Pooja Pradeep Priya Rahul Rajesh
Ravi Rohan Sagar Sanjay Sarita Shreya Sneha Sunil Suresh Tanvi Varun Vikram Vivek Yash
Zara Lars Sören Björn Åsa Märta Öskar Jürgen Jörg Günther Käthe Ümit Çağla Şebnem
Gökhan İlkay Zoë Chloé Élodie Éloïse Hélène Jérôme Loïc Mélanie Noël Renée Anaïs
Françoise Gaëlle Clémence Aurélien Bérénice Raphaël Benoît Léa Inès Maëlle José Jesús
María Lucía Sofía Martín Andrés Álvaro Íñigo Begoña Nuño Ramón Tomás Joaquín Mónica
Verónica Sebastián João Conceição Gonçalo Inês Sérgio Ângela Vitória Luísa Rúben
Zoltán Ágnes Gergő Ildikó Réka Lőrinc Małgorzata Łukasz Paweł Zbigniew Wojciech Agnieszka
Grażyna Krzysztof Jiří Tomáš Kateřina Radka Dušan Miloš Jovana Dragana Ivana Nikola
Siobhán Seán Niamh Aoife Ciarán Pádraig Oisín Bríd Saoirse Eóin Eleanor Charlotte
Oliver George Harry Amelia Olivia Isla Emily Jack Thomas William James Henry Lucy
Grace Freya Daniel Samuel Joseph Hannah Rachel Rebecca Michael David Sarah Laura
Emma Julia Marta Paolo Giulia Francesca Matteo Lorenzo Alessandro Chiara Niccolò
Ludovica Dimitri Nikos Eleni Giorgos Katerina Yiannis Sofia Olga Irina Tatiana Sergei
Dmitri Natalia Mikhail Yekaterina Aleksandr Oksana Taras Bohdan Olena Kwame Kofi Ama
Abena Yaw Chinedu Ngozi Oluwaseun Adaeze Emeka Folake Tunde Amara Zainab Fatima Aisha
Omar Yusuf Khalid Layla Leila Samir Karim Nour Rania Tariq Hassan Hussein Mariam Youssef
Amira Mehmet Ahmet Elif Zeynep Ayşe Emre Burak Hiroshi Yuki Haruto Sakura Takeshi Aiko
Kenji Naomi Hyun Jisoo Minjun Seojun Yuna Wei Jing Ming Xiao Hui Mei Lan Chen Jun
Thanh Minh Linh Huong Nguyet Somchai Niran Siriporn Arturo Camila Valentina Mateo
Santiago Ximena Renata Gabriel Leonardo Beatriz Fernanda Larissa Thiago Rafael
`)

var seedLastNames = strings.Fields(`
Sharma Verma Gupta Singh Kumar Patel Shah Mehta Iyer Nair Menon Reddy Rao Naidu Pillai
Chatterjee Banerjee Mukherjee Bose Das Ghosh Sen Dutta Chopra Kapoor Malhotra Khanna
Joshi Kulkarni Deshpande Patil Jadhav Pawar Desai Bhatt Trivedi Pandey Mishra Tiwari
Dubey Saxena Agarwal Bansal Goyal Jain Sinha Yadav Chauhan Rathore Thakur Krishnan
Venkatesh Subramanian Ramanathan Srinivasan Andersson Johansson Lindqvist Åberg Öberg
Ström Sjöberg Müller Schäfer Schröder Groß Köhler Bäcker Fischer Weber Wagner Becker
Hoffmann Krüger Zimmermann Lefèvre Dubois Moreau Laurent Girard Bérubé Côté Gagné
Lévesque Fontaine Rousseau Mercier Garnier Chevalier François García Fernández
González Rodríguez López Martínez Sánchez Pérez Gómez Jiménez Muñoz Álvarez Romero
Gutiérrez Núñez Peña Ibáñez Castaño Silva Santos Oliveira Conceição Gonçalves Magalhães
Araújo Simões Brandão Figueiredo Nagy Kovács Tóth Szabó Horváth Varga Kiss Molnár
Németh Farkas Nowak Kowalski Wiśniewski Wójcik Kamiński Lewandowski Zieliński
Szymański Woźniak Dąbrowski Kozłowski Jankowski Mazur Novák Svoboda Dvořák Černý
Procházka Kučera Veselý Horák Petrović Jovanović Nikolić Marković Đorđević O'Brien
O'Connor O'Sullivan Ó'Ceallaigh MacCarthy McNamara Murphy Kelly Walsh Byrne Ryan
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Roberts Johnson Wright
Robinson Thompson Walker White Edwards Hughes Green Hall Wood Harris Clarke Jackson
Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo
Conti Mancini Costa Giordano Papadopoulos Georgiou Nikolaidis Ivanov Smirnov Kuznetsov
Popov Sokolov Lebedev Kozlov Novikov Morozov Volkov Shevchenko Bondarenko Kovalenko
Mensah Owusu Asante Boateng Okafor Okonkwo Adeyemi Balogun Eze Nwosu Abubakar Bello
Mwangi Otieno Kamau Wanjiru Haddad Khoury Mansour Nasser Saleh Farouk Al-Sayed
Al-Farsi Ben-David El-Amin Yilmaz Kaya Demir Şahin Çelik Yıldız Aydın Öztürk Arslan
Doğan Tanaka Suzuki Takahashi Watanabe Yamamoto Nakamura Kobayashi Yoshida Yamada
Sasaki Kim Park Choi Jung Kang Cho Yoon Jang Lim Han Wang Zhang Liu Yang Huang Zhao
Zhou Nguyen Tran Pham Hoang Phan Huynh Dang Bui Srisuk Chaiyaporn Wongsawat Hernández
Ramírez Flores Torres Rivera Morales Ortiz Cruz Reyes Vargas Castillo Mendoza Rojas
Herrera Medina Aguilar Vásquez Castro Ruiz Guerrero Soto Delgado Navarro Barros
Cardoso Ribeiro Carvalho Almeida Lima Rocha Moura Teixeira Cavalcanti
`)

var seedCompanyWords = [2][]string{
	strings.Fields(`Blue Northern Bright Silver Golden Coastal Summit Harbor Evergreen Crescent
		Pioneer Redwood Meridian Horizon Granite Lotus Monsoon Saffron Cobalt Juniper`),
	strings.Fields(`Logistics Telecom Retail Foods Health Finance Travel Energy Motors Media
		Insurance Pharma Textiles Networks Realty Airways Shipping Labs Systems Exports`),
}

var seedDevices = []string{
	"Chrome on Windows", "Edge on Windows", "Firefox on Windows", "Safari on macOS",
	"Chrome on macOS", "Firefox on Linux", "Chrome on Android", "Safari on iPhone",
	"Safari on iPad", "Samsung Internet on Android",
}

var seedRevokeNotes = []string{
	"Left the company.", "Moved to another team.", "Contract ended.", "Duplicate account.",
	"Access no longer needed.",
}

// asciiFold maps the letters of the seed names to ASCII for email addresses.
var asciiFold = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ä", "a", "ã", "a", "å", "a", "ā", "a", "ą", "a",
	"ç", "c", "č", "c", "ć", "c",
	"é", "e", "è", "e", "ê", "e", "ë", "e", "ē", "e", "ę", "e", "ě", "e",
	"í", "i", "ì", "i", "î", "i", "ï", "i", "ı", "i",
	"ñ", "n", "ń", "n", "ň", "n",
	"ó", "o", "ò", "o", "ô", "o", "ö", "o", "õ", "o", "ø", "o", "ō", "o", "ő", "o",
	"ú", "u", "ù", "u", "û", "u", "ü", "u", "ū", "u", "ű", "u", "ů", "u",
	"ý", "y", "ÿ", "y",
	"ß", "ss", "æ", "ae", "œ", "oe",
	"ł", "l", "ś", "s", "š", "s", "ş", "s",
	"ź", "z", "ż", "z", "ž", "z", "ř", "r", "ğ", "g", "đ", "d",
	"'", "", " ", "",
)

// emailLocal returns an ASCII email local part for a first and last name,
// such as "soren.strom".
func emailLocal(first, last string) string {
	clean := func(s string) string {
		s = asciiFold.Replace(strings.ToLower(s))
		return strings.Map(func(r rune) rune {
			if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' {
				return r
			}
			return -1
		}, s)
	}
	return clean(first) + "." + clean(last)
}
