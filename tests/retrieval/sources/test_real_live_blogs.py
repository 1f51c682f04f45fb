"""Real live blogs read as the page shows them: the Guardian, the Times of India, la Repubblica
and NDTV Sports (tests/fixtures/real, origins in its README).

Each publisher gets the structured data wrong in its own way, so each is a case the generic
rules (or, for the Guardian, its adapter) must read right:

- the Guardian's JSON-LD gives every update the blog's headline, time and five-name byline and
  a body cut at 1,000 characters; its `@id` lacks the page's `block-` prefix;
- the Times of India's headlines are "19:02(IST) " plus the first 100 characters of the text,
  its bodies cut there mid-word; the page has no per-update anchors;
- la Repubblica's updates have no URL (the page has `#419364605_eventN` anchors), headlines
  end "&rdq…", bodies hold CMS codes (`[[ge:…]]`); the page shows each headline as the first
  paragraph and marks its local times "Z";
- NDTV's microdata updates (`itemprop="liveBlogUpdate"`, +05:30 times) break their
  `articleBody` attribute at the first quotation mark, and link `#N`, where the page's element
  is `<li id="N_parent">`.

Every expected value was written from reading the page (its visible update elements, times as
shown in the publisher's zone, bylines, paragraphs), not from the importer's output.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urldefrag

import pytest

from retrieval.models import Post
from tests.retrieval.sources.real_pages import (
    CHROME,
    Blog,
    Update,
    assert_body,
    minute,
    page_ids,
    parsed,
    u,
)

GUARDIAN_URL = (
    "https://www.theguardian.com/world/live/2023/may/15/"
    "russia-ukraine-war-latest-g7-reportedly-set-to-tighten-russia-sanctions-france-to-send-kyiv-military-aid-live"
)
GUARDIAN = Blog(
    file="guardian_live_2023-05-15.html",
    canonical=GUARDIAN_URL,
    outlet="The Guardian",
    updates=tuple(
        u(f"block-{a}", f"2023-05-15T{t}+01:00", w, h, f, la)
        for a, t, w, h, f, la in [
            ("646219928f08e408b758af95", "12:50", "Jennifer Rankin", "Jennifer Rankin reports from Brussels", "Jennifer Rankin reports from Brussels", "very strong support for President Zelenskiy’s peace formula."),
            ("646218558f08e408b758af8d", "12:34", None, "Ukrainian president, Volodymyr Zelenskiy, on Monday lauded “important and powerful”…", "Ukrainian president, Volodymyr Zelenskiy, on Monday lauded", "I am very pleased with the achievements and agreements."),
            ("646208dd8f0822aea831dd26", "12:24", None, "Stoltenberg: no point discussing how Ukraine can join Nato if it does not prevail in war first", "Nato’s secretary general has said he expects the alliance", "when and how Ukraine can become a member of the alliance."),
            ("646214d48f0822aea831ddb9", "12:20", None, "Britain has no plans to send fighter jets to Ukraine after the Ukrainian military…", "Britain has no plans to send fighter jets to Ukraine", "you will know the RAF don’t use those."),
            ("646211b28f08e408b758af3c", "12:12", None, "On Twitter, the head of the Ukrainan president’s office, Andriy Yermak, said he is with…", "On Twitter, the head of the Ukrainan president’s office", "Andriy Yermak (@AndriyYermak) May 15, 2023"),
            ("646210cc8f0822aea831dd91", "12:05", None, "Sunak: 'not a straightforward thing' to supply fighter jets to Ukraine", "The UK’s prime minister, Rishi Sunak, has said the UK will be ready", "ready to implement those plans in relatively short order."),
            ("64620ea98f08e408b758af03", "11:58", None, "Russia takes an “extremely negative” view of Britain’s decision to supply Ukraine with…", "Russia takes an “extremely negative” view", "So for Ukraine, it makes things much more complex.”"),
            ("64620e828f08e408b758af02", "11:55", None, "Earlier, Rishi Sunak noted that today’s meeting with Volodymyr Zelenskiy at the prime…", "Earlier, Rishi Sunak noted that today’s meeting", "Sunak being informed of details of developments on the battlefield."),
            ("64620c2c8f0822aea831dd45", "11:50", None, "UK’s prime minister, Rishi Sunak, has said he discussed “long-term” security arrangements…", "UK’s prime minister, Rishi Sunak, has said he discussed", "effective deterrence against future Russian aggression."),
            ("64620b708f08e408b758aedb", "11:42", None, "Zelenskiy discussed 'coalition of jets' with Sunak on UK visit", "Volodymyr Zelenskiy has said that he discussed “a coalition of jets”", "Volodymyr Zelenskiy and Rishi Sunak together at Chequers earlier today."),
        ]
    ),
)

TOI_URL = (
    "https://timesofindia.indiatimes.com/sports/cricket/ipl/live-blog/"
    "ipl-2020-live-cricket-score-chennai-super-kings-vs-sunrisers-hyderabad-match-14-dubai/liveblog/78447140.cms"
)
# No update has an anchor of its own on the page: each links to the blog. The page shows no
# headlines either: the titles are the start of each update's text.
TOI = Blog(
    file="toi_live_2020-10-02.html",
    canonical=TOI_URL,
    outlet="The Times of India",
    updates=tuple(
        u("", f"2020-10-02T{t}+05:30", None, h, f, la)
        for t, h, f, la in [
            ("19:02", "TOSS: Sunrisers Hyderabad win toss, opt to bat against Chennai Super Kings in Dubai", "TOSS: Sunrisers Hyderabad win toss", "against Chennai Super Kings in Dubai"),
            ("18:32", "Hello and welcome to the Live coverage of Match 14 of the IPL 2020 between Chennai Super…", "Hello and welcome to the Live coverage", "at Dubai International Stadium in Dubai."),
            ("18:16", "For SRH to succeed, they need to find that one dependable Indian big-hitter in the middle…", "For SRH to succeed", "Bairstow, Warner and Williamson fail in unison."),
            ("18:16", "For Hyderabad, the presence of Kane Williamson made a fragile middle-order, full of…", "For Hyderabad, the presence of Kane Williamson", "David Warner also got their share of runs."),
            ("18:16", "Bravo's replacement Sam Curran has been one of CSK's better performers in the first three…", "Bravo's replacement Sam Curran", "with good change-ups in pace and handy hitting."),
            ("18:16", "CSK and Sunrisers Hyderabad (since inception) have traditionally been two of the most…", "CSK and Sunrisers Hyderabad (since inception)", "primarily due to lack of balance in the middle-order."),
            ("18:16", "Rayudu, hero of CSK's opening IPL victory against Mumbai Indians, missed out due to mild…", "Rayudu, hero of CSK's opening IPL victory", "where he didn't bowl in the last two games."),
            ("18:16", "Ambati Rayudu's much-awaited comeback will be a shot in the arm for an under-pressure…", "Ambati Rayudu's much-awaited comeback", "who have shown resilience after early setbacks."),
        ]
    ),
)

REPUBBLICA_URL = (
    "https://www.repubblica.it/esteri/2023/11/02/diretta/israele_hamas_news_guerra_gaza_oggi-419364605/"
)
# Times as the page shows them, in Rome (CET, +01:00 on 2 November).
REPUBBLICA = Blog(
    file="repubblica_live_2023-11-02.html",
    canonical=REPUBBLICA_URL,
    outlet="la Repubblica",
    updates=tuple(
        u(f"419364605_event{n}", f"2023-11-02T{t}+01:00", None, h, f, la)
        for n, t, h, f, la in [
            ('79', '16:56', 'Oms: “A Gaza fermi 14 ospedali su 36, gli altri in sovraccarico”', 'E\' "profondamente preoccupante" che "14', 'non hanno nessun posto dove andare".'),
            ('78', '16:48', 'Netanyahu non ha approvato la benzina per ospedali di Gaza', "L'ufficio di Benjamin Netanyahu ha preci", '00 litri di benzina che sono a Gaza.'),
            ('77', '16:41', 'Hezbollah, 2 droni esplosivi contro militari Israele', 'Hezbollah ha annunciato di aver lanciato', 'li senza pilota hanno gli obiettivi.'),
            ('76', '16:27', 'Negoziatore di Shalit al leader di Hamas: “Superato il limite, impossibile trattare”', 'Hamas ha "oltrepassato il limite tra l\'u', 'prossima volta negozieremo la pace".'),
            ('75', '16:24', 'Hezbollah, abbiamo colpito postazioni israeliane con due droni', 'Gli Hezbollah libanesi hanno dichiarato', 'o obiettivi con elevata precisione".'),
            ('74', '16:23', 'Oms, a Gaza fermi 14 ospedali su 36, sovraccarichi gli altri', '"Profondamente preoccupante: 14 ospedali', 'ha aggiunto Tedros in un post su X.'),
            ('73', '16:22', 'Lavrov: “Inaccettabili violenze su civili a Gaza”', 'Qualsiasi "azione violenta contro i civi', 'isogno e il rilascio degli ostaggi".'),
            ('72', '16:19', 'Blinken torna in Medio Oriente per “prevenire l’espansione del conflitto", con lui il nuovo ambasciatore Usa in Israele', 'Il nuovo ambasciatore Usa in Israele, Ja', 'tappa anche ad Amman, in Giordania.'),
            ('71', '16:00', 'Israele, “Intelligence e fuoco da mare e cielo su Gaza”', 'Le forze di terra nella loro operazione', 'onto "ad attaccare su altri fronti".'),
            ('70', '15:54', 'Israele, forniremo carburante agli ospedali di Gaza', 'Il capo di Stato maggiore israeliano Her', 'a agli obiettivi militari di Hamas".'),
            ('69', '15:45', 'Israele, “Siamo dentro Gaza City, è circondata”', '"Le nostre forze sono nel cuore del nord', 'capo di Stato maggiore Herzi Halevi.'),
            ('68', '15:34', 'Medioriente: Sunak incontra Guterres, “Priorità aiuti a popolazione Gaza”', 'Il primo ministro britannico Rishi Sunak', 'nza di mantenere il sostegno a Kiev.'),
            ('67', '15:27', 'Idf, “Usata metà forza area a Gaza, pronti aprire altri fronti”', 'L’Idf opera con meno della metà della fo', 'riportare a casa tutti gli ostaggi".'),
            ('66', '15:16', 'Media: “Raid israeliano in campo profughi Bureij a Gaza, 15 morti”', 'Un attacco israeliano ha colpito un edif', 'imaste intrappolate sotto le macerie'),
            ('65', '15:12', 'Hamas: “27 morti in un raid Israele vicino alla scuola dell’Unrwa”', 'Il ministero della Salute di Gaza, gesti', "na scuola dell'Unrwa nella Striscia."),
            ('64', '15:01', 'Cpj: “Dal 7 ottobre morti 33 giornalisti, 28 erano palestinesi”', 'Sono almeno 33 i giornalisti che hanno p', 'feriti e nove dispersi o catturati.'),
            ('63', '14:59', 'Il racconto del medico israeliano intervenuto nel kibbutz Be’eri: “A 8 anni morta dissanguata”', 'Un medico israeliano ha raccontato a Cnn', 'vicino a lei. Era molto spaventata".'),
            ('62', '14:54', 'Bilaterale Sunak-Guterres: “Più aiuti a Gaza”', 'Il primo ministro britannico, Rishi Suna', 'attrezzature di emergenza in Egitto"'),
            ('61', '14:36', "Sirene d'allarme nel nord di Israele, al confine libanese", "Le sirene d'allarme stanno suonando nel", "il Libano. Lo rende noto l'esercito."),
            ('60', '14:21', 'Usa e Riad discutono sforzi verso "pace sostenibile"', 'Il segretario di Stato americano Antony', '", afferma il dipartimento di Stato.'),
            ('59', '14:05', 'Bimba italiana 6 anni e la madre palestinese lasciano Gaza', 'Dopo il primo gruppo di italiani che ha', 'degli Affari Esteri Antonio Tajani.'),
            ('58', '14:03', 'Unrwa: “Nostri rifugi a Gaza pieni 4 volte oltre la loro capacità”', "L'Urnwa, l'agenzia delle Nazioni Unite p", 'vi problemi di salute e protezione".'),
            ('57', '13:25', 'Idf: “Scoperta rete di profili fake di Hamas per rubare informazioni ai soldati”', "Il portavoce dell'IDF ha detto che negli", 'egistrazioni vocali e videochiamate.'),
            ('56', '13:20', 'Bahrain richiama suo ambasciatore in Israele', 'Il Bahrain ha richiamato il suo ambascia', 'ti diplomatici con Israele nel 2020.'),
            ('55', '13:18', 'Media, assalitori Hamas avevano indirizzi di ufficiali dell’Idf', "I miliziani di Hamas coinvolti nell'atta", 'io e portare nella Striscia di Gaza.'),
            ('54', '13:17', 'Arabia Saudita lancia campagna fondi per palestinesi a Gaza', "L'Arabia Saudita ha lanciato una raccolt", 'gli sforzi umanitari in altri Paesi.'),
            ('53', '13:08', 'IDF: “Milizia Iran combatte con Hezbollah a confine Libano”', 'Una milizia iraniana è arrivata nel sud', 'offensive in territorio israeliano".'),
            ('52', '13:04', 'Ankara prova a mediare con Iran e Usa per cessate il fuoco', 'La Turchia intensifica la propria azione', 'di "non volere il cessate il fuoco".'),
            ('51', '12:56', 'Mosca: “Aumentano rischi allargamento conflitto”', '"La situazione nella zona del conflitto', 'è rimasto paralizzato", ha concluso.'),
            ('50', '12:51', "Cremlino, visita Abbas a Mosca resta all'ordine del giorno", "La visita del presidente dell'Autorità n", 'eriormente concordata", ha concluso.'),
            ('49', '12:49', "Tajani: “L'Italia è portatrice di pace, lavorare a de-escalation”", '"È assolutamente falso" dire che l\'Itali', 'amo aiutando il popolo palestinese".'),
            ('48', '12:46', 'Filo-palestinesi imbrattano il Foreign Office la sede di Leonardo a Londra', 'Scritte pro Palestina e anti Israele son', 'i essere "complice di un genocidio".'),
            ('47', '12:43', 'Iran, Israele non può parlare legalmente di legittima difesa', "Il vice ministro degli Esteri dell'Iran,", 'i e indifesi nella Striscia di Gaza.'),
            ('46', '12:22', 'Biden contestato da comunità islamica in Minnesota e da chi chiede cessate il fuoco', 'Joe Biden è stato accolto in Minnesota d', '" nel conflitto tra Israele e Hamas.'),
            ('45', '12:21', 'Emirati Arabi prevedono di accogliere 1.000 bambini da Gaza', 'Gli Emirati Arabi Uniti prevedono di acc', 'coinvolge Israele e gli Stati Uniti.'),
            ('44', '12:19', 'Israele: “Colpita cellula che tentava lancio missili dal Libano”', "L'esercito israeliano ha fatto sapere di", 'missili anti tank sempre in Libano.'),
            ('43', '12:18', '400 stranieri usciranno oggi da Gaza', 'Funzionari egiziani e palestinesi afferm', "iare l'enclave attraverso il valico."),
            ('42', '12:09', 'Ue in linea con Papa Francesco: “Cresce antisemitismo in Europa, è inaccettabile”', 'La Commissione Europea condivide la preo', 'n Europa, e questo è inaccettabile".'),
            ('41', '12:00', 'Gaza, ospedale turco senza carburante interrompe attività', "L'ufficio umanitario delle Nazioni Unite", 'in tutta Gaza non sono in funzione.'),
            ('40', '11:45', 'Sale il bilancio delle vittime a Gaza', 'Il ministero della Salute di Gaza, contr', 'rebbero 9.061, di cui 3.760 bambini.'),
            ('39', '11:43', 'Media Libano, 2 pastori uccisi da fuoco israeliano al confine', "L'esercito libanese ha recuperato i corp", 'zione", secondo l\'agenzia di stampa.'),
            ('38', '11:41', 'Generale riserva: “Nei tunnel non si entra, ma si sigillano”', 'Nei tunnel sotto Gaza non si combatte, s', 'l nemico o lo danneggi", dice Golan.'),
            ('37', '11:40', "Turchia ribadisce: “Forze armate pronte per l'evacuazione di Gaza”", "L'Esercito turco ha ribadito di essere p", 'oneità dell\'ambiente nella regione".'),
            ('36', '11:37', 'Tajani: “Spero altri 2 italiani escano da Gaza oggi”', '"Spero oggi che altri 2 italiani possano', 'vorranno loro verranno rimpatriati".'),
            ('35', '11:36', 'Spari in Cisgiordania, morto israeliano ferito', "È morto l'israeliano rimasto gravemente", 'iudendo le strade intorno alla zona.'),
            ('34', '11:34', 'Ambasciatore Israele: “A Jabalia un centro militare di Hamas”', '“Quello di Jabalia non è solo un campo p', 'no essere considerati responsabili".'),
            ('33', '11:32', 'Idf conferma: “Ucciso un comandante di battaglione a Gaza”', "L'unità portavoce dell'IDF ha confermato", 'nti nel nord della Striscia di Gaza.'),
            ('32', '11:31', 'Berlino annuncia divieto attività Hamas in Germania', "La ministra dell'Interno tedesca, Nancy", 'Hamas in Israele distribuendo dolci.'),
            ('31', '11:28', 'Idf: “Venti miliziani uccisi in operazioni notturne”', 'L’esercito israeliano ha comunicato che', "L'aviazione ha assistito dall'alto."),
            ('30', '11:25', "Cisgiordania, morti 4 palestinesi in scontri con l'esercito", 'È salito a quattro il numero dei palesti', 'aeliane a Qalqilya, in Cisgiordania.'),
            ('29', '11:16', 'Ambasciatore Israele: “100% dei nostri attacchi contro obiettivi militari”', '"Il 100% degli attacchi che noi conducia', 'erra, a cui cerchiamo di attenerci".'),
            ('28', '10:57', 'Cina: “Impegnati a far uscire connazionali da Gaza”', 'Il ministero degli Esteri cinese si sta', 'n preparazione piani di evacuazione.'),
            ('27', '10:49', 'Ambasciatore Israele: “Incoraggiati da nostro rapporto con l’Italia”', '"Abbiamo un rapporto positivo con l\'Ital', 'musulmani così come per gli ebrei".'),
            ('26', '10:47', 'Ambasciatore Israele: “Antisemitismo nasce da cattiva informazione”', '"Ci sono preoccupazioni per le comunità', 'sraeliano Alon Bar a Start Sky Tg24.'),
            ('25', '10:01', 'Salito a 242 il numero degli ostaggi di Hamas a Gaza', 'È salito a 242 il numero degli ostaggi i', 'ce militare israeliano Daniel Hagari'),
            ('24', '09:58', 'Israele: “Una feroce battaglia dopo un’imboscata di Hamas”', 'La radio militare israeliana ha riferito', 'vittime israeliane nel combattimento'),
            ('23', '09:38', 'Valico di Rafah tra Gaza e Egitto aperto anche oggi', "Il valico di Rafah tra Gaza e l'Egitto è", 'nalità e dei feriti, cominciata ieri'),
            ('22', '09:30', 'Yad Vashem: “I leader del mondo dichiarino guerra all’antisemitismo”', 'Lo Yad Vashem, il Museo della Shoah a Ge', 'istituzioni e gli individui ebraici"'),
            ('21', '09:27', 'Un altro soldato israeliano ucciso a Gaza: il bilancio sale a 17 morti', 'Le forze israeliane (Idf) hanno conferma', 'to il 7 ottobre da Hamas in Israele.'),
            ('20', '09:11', 'Wafa: “Un palestinese ucciso da Israele in Cisgiordania”', 'Un palestinese "è stato ucciso ed altri', 'Hamas, sono 131 i palestinesi uccisi'),
            ('19', '09:01', 'Unicef: “A Jabalia una carneficina, molti bambini tra le vittime”', '"Le scene di carneficina che provengono', 'ttarli e proteggerli dagli attacchi"'),
            ('18', '08:39', 'Unrwa: “Oltre un milione e 400mila persone sono attualmente sfollate a Gaza”', 'Secondo l\'Unrwa, "circa 1,4 milioni di p', 'in un conflitto in così poco tempo".'),
            ('17', '08:37', 'Pianificavano un attentato a Gerusalemme Est: due persone arrestate', 'Sventato un attacco a Gerusalemme Est. L', 'e per la fabbricazione di un ordigno'),
            ('16', '08:28', 'L’Egitto favorirà l’evacuazione di circa 7 mila stranieri', "L'Egitto favorirà l'evacuazione di circa", 'porto straniero o doppio passaporto.'),
            ('15', '08:25', 'Hamas: “Le vittime a Jabalia sono 195”', 'Sarebbero 195, secondo le fonti di Hamas', 'irigente di Hamas che vi si trovava.'),
            ('14', '08:16', 'Il ministro degli Esteri giapponese in Israele e Giordania parlerà con Anp', 'Il ministro degli Esteri giapponese ha r', 'gli sfollati erano in buona salute.'),
            ('13', '07:24', 'Esercito israeliano: nella notte uccise decine di terroristi', 'L\'esercito israeliano sta continuando "a', 'e un missile lanciato da una nave".'),
            ('12', '05:35', 'Cittadini giapponesi tra evacuati da Gaza', 'Ci sono anche 10 giapponesi tra i ittadi', 'ha attraversato il confine di Rafah.'),
            ('11', '05:32', 'Finalista Wimbledon dona parte premio a bimbi palestinesi', 'La tennista tunisina Ons Jabeur, due vol', 'i", ha poi chiarito sui suoi social.'),
            ('10', '05:25', 'Sirene d’allarme nell’area di Israele vicina alla Striscia', "Le sirene hanno suonato nell'area circos", 'cipali di questa guerra è Netanyahu"'),
            ('9', '05:20', 'Forti esplosioni vicino all’ospedale Al Quds a Gaza', 'Nelle prime ore di giovedì si sono senti', 'enza mettere in pericolo i pazienti.'),
            ('8', '04:19', 'Australia, 20 connazionali evacuati in Egitto da Gaza', 'La ministra degli Esteri australiana, Pe', 'co Hamas, che controlla la Striscia.'),
            ('7', '01:23', 'Hamas: “Almeno 195 i palestinesi uccisi in campo profughi Jabalia”', 'Sarebbero almeno 195 i palestinesi uccis', 'l della Jihad Islamica a Gaza (2021)'),
            ('6', '01:11', 'Politico: “Biden pensa che Netanyahu non durerà a lungo”', 'Joe Biden e i suoi principali collaborat', 'Netanyahu rimanga un tempo limitato.'),
            ('5', '00:53', 'Biden: “Necessaria una pausa per far uscire i prigionieri”', '"Penso che abbiamo bisogno di una pausa.', 'o trattenuti nella Striscia di Gaza.'),
            ('4', '00:47', 'Capo Unrwa visita la Striscia: “Tragedia senza precedenti”', 'La portata della tragedia a Gaza è "senz', 'a sono rimaste uccise dal 7 ottobre.'),
            ('3', '00:44', 'Senatori Usa: “Colloqui su forza multinazionale a Gaza per dopo Hamas”', 'Sono in corso colloqui per istituire una', 'ente non includerà truppe americane.'),
            ('2', '00:33', 'Biden ringrazia Qatar per apertura valico Rafah', 'Il presidente americano Joe Biden ha rin', 'a visita a Northfield, in Minnesota.'),
            ('1', '00:30', 'Israele: “Colpite due cellule terroristiche in Libano”', "L'esercito israeliano ha riferito di ave", 'lancio di missili guidati anticarro.'),
        ]
    ),
)

NDTV_URL = (
    "https://sports.ndtv.com/cricket/"
    "india-vs-sri-lanka-live-cricket-score-icc-cricket-world-cup-2023-ind-vs-sl-latest-updates-4537334"
)
# Times as shown ("21:06 (IST)"); no update names its writer (the microdata credits each to
# "NDTV Sports", the publisher).
NDTV = Blog(
    file="ndtv_live_2023-11-02.html",
    canonical=NDTV_URL,
    outlet="NDTV Sports",
    updates=tuple(
        u(a, f"2023-11-02T{t}+05:30", None, h, f, la)
        for a, t, h, f, la in [
            ('80_parent', '21:06', "India vs Sri Lanka: It's a wrap!", "Okay, folks! That's it from the game. India h", 'ategory. Until we meet again, goodbye.'),
            ('79_parent', '20:51', 'IND vs SL Live Score: Shami named Player of the Match', 'Mohammed Shami gets the Player of the Match a', 'ket-taker in World Cups)," said Shami.'),
            ('78_parent', '20:39', 'IND vs SL Live Score: India enter semi-finals!', 'The win ensures India of a semi-final spot. S', 'e matches to go before the semi-final.'),
            ('77_parent', '20:36', 'India vs Sri Lanka Live Score: India WIN!!!', 'Kuldeep Yadav has got the final wicket and In', 'at will also boost their Net Run Rate.'),
            ('76_parent', '20:28', 'India vs Sri Lanka Live Score: OUT!', "It's a five-wicket haul for Mohammed Shami.", 'SL 49/9 (18)'),
            ('75_parent', '20:19', 'India vs Sri Lanka Live Score: FOUR!', 'A four for Sri Lanka! It was a fuller ball fr', 'SL 42/8 (15.5)'),
            ('74_parent', '20:15', 'ODI WC Live: Sri Lanka escape massive embarrassment!', '14.1 - A single from Kasun Rajitha and Sri La', 'SL 37/8 (15)'),
            ('73_parent', '20:07', 'India vs Sri Lanka Live Score: OUT!', 'Another peach from Mohammed Shami and he has', 'SL 29/8 (13.1)'),
            ('72_parent', '19:58', 'IND vs SL Live Score: WICKET!', 'A third wicket for Mohammed Shami and Sri Lan', 'SL 22/7 (11.3)'),
            ('71_parent', '19:39', 'India vs Sri Lanka Live Score: Shami on a hat-trick!', 'Mohammed Shami has picked two wickets in two', 'SL 14/6 (9.4)'),
            ('70_parent', '19:24', 'India vs Sri Lanka Live Score: India on top!', 'A two-run over from Mohammed Siraj before Jas', 'SL 12/4 (7)'),
            ('69_parent', '19:13', 'IND vs SL Live Score: Maiden over!', 'Jasprit Bumrah bowled a maiden over to Charit', 'SL 7/4 (5)'),
            ('68_parent', '19:03', 'India vs Sri Lanka Live Score: OUT!', 'That is a peach of a delivery from Mohammed S', 'SL 3/4 (3.1)'),
            ('67_parent', '18:54', 'IND vs SL Live Score: WICKET!', 'Mohammed Siraj is wreaking havoc at the momen', 'SL 2/3 (1.5)'),
            ('66_parent', '18:50', 'India vs Sri Lanka Live Score: Decision overturned!', 'Another beautiful delivery from Mohammed Sira', 'ewed as he was sure there was no edge.'),
            ('65_parent', '18:48', 'IND vs SL Live Score: Another WICKET!', 'Another one bites the dust! This time Dimuth', 'SL 2/2 (1.1)'),
            ('64_parent', '18:42', 'IND vs SL Live Score: OUT!', 'What a start in bowling from Jasprit Bumrah!', 'SL 0/1 (0.1)'),
            ('63_parent', '18:05', 'IND vs SL Live Score: India 357/8 in 50 overs', 'India finish their innings at 357/8 in 50 ove', 'ts while Dushmantha Chameera took one.'),
            ('62_parent', '18:03', 'IND vs SL Live Score: OUT', 'OUT!!! Mohammed Shami departs for 2. In attem', 'IND 355/6 (49.3 overs)'),
            ('61_parent', '17:59', 'IND vs SL Live Score: India go past 350', 'SIX!!! Ravindra Jadeja smashes a huge six off', 'IND 352/6 (49 overs)'),
            ('60_parent', '17:54', 'IND vs SL Live Score: OUT', 'OUT!!! Dilshan Madushanka completes his five-', 'IND 333/6 (47.3 overs)'),
            ('59_parent', '17:45', 'IND vs SL Live Score: FOUR', 'FOUR!!! Shreyas Iyer hits a boundary off Dush', 'IND 315/5 (46.2 overs)'),
            ('58_parent', '17:40', 'IND vs SL Live Score: India go past 300', 'Shreyas Iyer smashes a brilliant boundary off', 'IND 304/5 (45 overs)'),
            ('57_parent', '17:34', 'India vs Sri Lanka Live Score: 7 runs off the over', 'Team India is inching closer towards the 300-', 'IND 295/5 (44 overs)'),
            ('56_parent', '17:29', 'IND vs SL Live Score: Iyer hits 50', 'Shreyas Iyer hits a boundary off Maheesh Thee', 'ship between Iyer and Ravindra Jadeja.'),
            ('55_parent', '17:28', 'IND vs SL Live Score: OUT', 'OUT!!! Dilshan Madushanka has taken his fourt', 'IND 276/5 (41.3 overs)'),
            ('54_parent', '17:20', 'IND vs SL Live Score: Shreyas nears 50', 'SIX!!! Shreyas Iyer smashes a huge maximum of', 'IND 274/4 (40.5 overs)'),
            ('53_parent', '17:16', 'IND vs SL Live Score: Good start from Surya', 'After the dismissal of KL Rahul, Suryakumar Y', 'IND 264/4 (40 overs)'),
            ('52_parent', '17:08', 'IND vs SL Live Score: OUT', 'OUT!!! Dushmantha Chameera has taken his firs', 'IND 256/4 (39.2 overs)'),
            ('51_parent', '17:01', 'IND vs SL Live Score: 50-run partnership', 'KL Rahul and Shreyas Iyer have changed gears', 'IND 248/3 (38 overs)'),
            ('50_parent', '16:53', 'India vs Sri Lanka Live Score: SIX', 'SIX!!! Another six from the bat of Shreyas Iy', 'IND 239/3 (36 overs)'),
            ('49_parent', '16:51', 'India vs Sri Lanka Live: FOUR', 'FOUR!!! KL Rahul continues to deal in boundar', 'IND 229/3 (35.1 overs)'),
            ('48_parent', '16:47', 'IND vs SL Live Score: SIX', 'SIX!!! Shreyas Iyer smashes a huge maximum of', 'IND 225/3 (35 overs)'),
            ('47_parent', '16:42', 'IND vs SL World Cup 2023 Live: FOUR', 'FOUR!!! KL Rahul smashes a boundary off Kasun', 'IND 205/3 (33.1 overs)'),
            ('46_parent', '16:38', 'India vs Sri Lanka Live: OUT', 'OUT!! Dilshan Madushanka has provided Sri Lan', 'IND 196/3 (31.3 overs)'),
            ('45_parent', '16:26', 'IND vs SL Live Score: OUT', 'OUT!!! Dilshan Madushanka has provided Sri La', 'IND 193/2 (30 overs)'),
            ('44_parent', '16:19', 'IND vs SL Live Score: Gill, Kohli near tons', 'Shubman Gill unleashes his fury off Dushan He', 'IND 185/1 (29 overs)'),
            ('43_parent', '16:15', 'India vs Sri Lanka Live: SIX', 'SIX!!! Shubman Gill smashes the first six of', 'IND 170/1 (27.4 overs)'),
            ('42_parent', '16:01', 'IND vs SL Live Score: FOUR!', '25.1 - This is a terrific shot from Virat Koh', 'on and mid-wicket fielders for a four.'),
            ('41_parent', '16:00', 'IND vs SL Live Score: Expensive over!', 'Maheesh Theekshana has bowled an expensive ov', 'IND 151/1 (25)'),
        ]
    ),
)

BLOGS = {
    "The Guardian": GUARDIAN,
    "The Times of India": TOI,
    "la Repubblica": REPUBBLICA,
    "NDTV Sports": NDTV,
}
# Page furniture of these layouts that must stay out of every body: text, and whole paragraphs.
FURNITURE = ("Updated at", "– video", "[[", "(IST)", " BST")
FURNITURE_PARAGRAPHS = ("facebook", "twitter", "Share Link")


def post_for(blog: Blog, update: Update) -> Post:
    """The post of `update`: by its anchor, or by its title on a page without anchors."""
    posts = parsed(blog.file).posts
    if update.anchor:
        found = [p for p in posts if urldefrag(p.url or "").fragment == update.anchor]
    else:
        found = [p for p in posts if p.title == update.title]
    assert len(found) == 1, [p.title for p in posts]
    return found[0]


def cases() -> list[tuple[str, Update]]:
    return [(name, update) for name, blog in BLOGS.items() for update in blog.updates]


@pytest.mark.parametrize(
    ("publisher", "update"),
    cases(),
    ids=[f"{n}#{u.anchor or u.title[:20]}" for n, u in cases()],
)
def test_every_update_reads_as_the_page_shows_it(publisher: str, update: Update) -> None:
    blog = BLOGS[publisher]
    post = post_for(blog, update)
    assert post.title == update.title
    assert minute(post) == datetime.fromisoformat(update.time)
    assert post.published.value.utcoffset() is not None
    assert post.authors == update.authors
    if update.anchor:
        assert post.url == f"{blog.canonical}#{update.anchor}"
        assert update.anchor in page_ids(blog.file)
    else:
        assert post.url == blog.canonical
    assert_body(post.body, update.first, update.last)
    text = "\n".join(post.body)
    for chrome in (*CHROME, *FURNITURE):
        assert chrome not in text
    assert not set(post.body) & set(FURNITURE_PARAGRAPHS)
    assert post.source == blog.outlet


@pytest.mark.parametrize("publisher", list(BLOGS))
def test_each_blog_is_one_coverage_with_every_update_and_nothing_rejected(publisher: str) -> None:
    blog = BLOGS[publisher]
    result = parsed(blog.file)
    assert result.coverage.url == blog.canonical
    assert result.coverage.source == blog.outlet
    assert len(result.posts) == len(blog.updates)
    assert len({p.post_id for p in result.posts}) == len(blog.updates)
    assert result.rejected == []


def test_the_guardian_notes_say_the_json_ld_repeats_the_blogs_values() -> None:
    notes = " / ".join(parsed(GUARDIAN.file).notes)
    assert "all 10 updates carry the headline 'Russia-Ukraine war live: Sunak tells Zelenskiy" in notes
    assert "all 10 updates carry the time 2023-05-15T11:50:54.000Z" in notes
    assert "all 10 updates carry the byline list (Martin Belam, Jordyn Beazley, Mabel Banfield-Nwachi, …)" in notes
    assert "page HTML read for 10 of 10 updates" in notes


def test_ndtvs_permalinks_name_the_element_the_page_has() -> None:
    # The microdata's url is "…#79"; no element has id "79", its update is <li id="79_parent">.
    assert "79" not in page_ids(NDTV.file)
    post = post_for(NDTV, next(u for u in NDTV.updates if u.anchor == "79_parent"))
    assert post.url == f"{NDTV_URL}#79_parent"
