//! The config app's texts in English and German (`start.lang`, `SetLang`). Everything else falls back to
//! English. One way to translate: every text is a [`Text`] with both languages side by side, so a text
//! cannot lack its German and a third language is one more column; the core's English messages are found
//! by their English ([`Text::translate`]).

/// A UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    De,
}

impl Lang {
    /// `de`, `de-DE`, `DE` → German; anything else English.
    pub fn parse(s: &str) -> Lang {
        let l = s.trim().to_ascii_lowercase();
        if l == "de" || l.starts_with("de-") || l.starts_with("de_") {
            Lang::De
        } else {
            Lang::En
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }
}

macro_rules! texts {
    ($($key:ident => $en:expr, $de:expr;)*) => {
        /// Every fixed text of the config app, with its English and German.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Text { $($key),* }

        impl Text {
            /// Every text, for finding one by its English (see [`Text::translate`]).
            pub const ALL: &'static [Text] = &[$(Text::$key),*];

            pub fn get(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Text::$key, Lang::En) => $en, (Text::$key, Lang::De) => $de,)*
                }
            }
        }
    };
}

texts! {
    Title => "Connector for kuando®", "Connector for kuando®";
    BannerNoLicense => "No license: the connector is stopped. Ask your administrator for a \"Connector for kuando®\" license.",
        "Keine Lizenz: der Connector ist angehalten. Bitte den Administrator um eine \"Connector for kuando®\"-Lizenz.";
    BannerNoHub => "No kuandoHUB detected. Is kuandoHUB running, with its HTTP server switched on?",
        "Kein kuandoHUB erkannt. Läuft kuandoHUB und ist sein HTTP-Server eingeschaltet?";
    BannerTooOld => "kuandoHUB is too old. Please update it (Windows 1.1.14.4, macOS 1.0.9, innovaphone Edition 0.9.1 or newer).",
        "kuandoHUB ist zu alt. Bitte aktualisieren (Windows 1.1.14.4, macOS 1.0.9, innovaphone Edition 0.9.1 oder neuer).";
    BannerToken => "kuandoHUB rejected the access token. Enter the token from kuandoHUB's advanced settings.",
        "kuandoHUB hat das Zugriffstoken abgelehnt. Bitte das Token aus den erweiterten Einstellungen von kuandoHUB eintragen.";
    BannerBadAnswer => "kuandoHUB answers, but not understandably. Restart kuandoHUB if this stays.",
        "kuandoHUB antwortet, aber unverständlich. Bleibt das so, kuandoHUB neu starten.";
    BannerLnaPrompt => "Your browser asks before this app may reach kuandoHUB on your PC. Click \"Allow access to kuandoHUB\" and allow it.",
        "Ihr Browser fragt, bevor diese App kuandoHUB auf Ihrem PC erreichen darf. Auf \"Zugriff auf kuandoHUB erlauben\" klicken und zustimmen.";
    BannerLnaDenied => "Your browser blocks this app from reaching kuandoHUB on your PC. Allow \"local network access\" for this app in the browser's site settings, or ask your administrator.",
        "Ihr Browser lässt diese App kuandoHUB auf Ihrem PC nicht erreichen. In den Website-Einstellungen des Browsers den Zugriff auf das lokale Netzwerk erlauben oder den Administrator fragen.";
    AllowLna => "Allow access to kuandoHUB", "Zugriff auf kuandoHUB erlauben";
    BannerNoBusylight => "No Busylight connected to kuandoHUB.", "Kein Busylight an kuandoHUB angeschlossen.";
    BannerLicenseNoAdmin => "The license cannot be checked right now. Please tell your administrator.",
        "Die Lizenz kann gerade nicht geprüft werden. Bitte den Administrator informieren.";
    BannerLicenseUnchecked => "License could not be checked: the PBX did not answer. The connector waits and tries again.",
        "Lizenz konnte nicht geprüft werden: die PBX hat nicht geantwortet. Der Connector wartet und versucht es erneut.";
    BannerService => "No connection to the app service: settings cannot be loaded or saved right now.",
        "Keine Verbindung zum App-Service: Einstellungen können gerade nicht geladen oder gespeichert werden.";
    NoLampNote => "No Busylight connected: the connector works without a lamp (e.g. kuandoHUB innovaphone Edition). Lamp tests are off.",
        "Kein Busylight angeschlossen: der Connector arbeitet ohne Lampe (z. B. kuandoHUB innovaphone Edition). Lampentests sind aus.";
    SectionHub => "kuandoHUB", "kuandoHUB";
    HubUrl => "HTTP server URL", "HTTP-Server-URL";
    HubUrlHint => "http://localhost:8989/ for kuandoHUB on this PC; the address of the PC with the Busylight for a remote lamp.",
        "http://localhost:8989/ für kuandoHUB auf diesem PC; die Adresse des PCs mit dem Busylight für eine entfernte Lampe.";
    HubUrlLoopbackHint => "Note: kuandoHUB listens on localhost by default and may refuse requests to 127.0.0.1. If the connection test fails, use http://localhost:8989/.",
        "Hinweis: kuandoHUB wartet standardmäßig auf localhost und lehnt Anfragen an 127.0.0.1 unter Umständen ab. Schlägt der Verbindungstest fehl, http://localhost:8989/ verwenden.";
    Token => "HTTP server access token", "Zugriffstoken des HTTP-Servers";
    TokenHint => "Only needed for a remote kuandoHUB.", "Nur für einen entfernten kuandoHUB nötig.";
    Show => "Show", "Anzeigen";
    Hide => "Hide", "Verbergen";
    PollInterval => "Check other apps every (seconds)", "Andere Apps prüfen alle (Sekunden)";
    SectionLamp => "Busylight", "Busylight";
    SlotRinging => "Incoming call", "Eingehender Anruf";
    SlotDialing => "Outgoing call", "Ausgehender Anruf";
    SlotConnected => "Connected", "Verbunden";
    SlotHeld => "On hold", "Gehalten";
    SlotBusy => "Busy", "Beschäftigt";
    SlotDnd => "Do not disturb", "Nicht stören";
    SlotAway => "Away", "Abwesend";
    SlotLunch => "Lunch", "Mittagspause";
    Effect => "Effect", "Effekt";
    Color => "Colour", "Farbe";
    Sound => "Sound", "Ton";
    Volume => "Volume", "Lautstärke";
    EffectLight => "Light", "Leuchten";
    EffectBlink => "Blink", "Blinken";
    EffectPulse => "Pulse", "Pulsieren";
    EffectAlert => "Blink with sound", "Blinken mit Ton";
    EffectJingle => "Sound once", "Ton einmal";
    EffectOff => "Off", "Aus";
    SectionMissedCall => "Missed calls", "Verpasste Anrufe";
    MissedCallEnabled => "Show a call nobody answered on the lamp (a kuandoHUB notification, above the other apps' states)",
        "Einen Anruf, den niemand angenommen hat, an der Lampe zeigen (ein kuandoHUB-Hinweis, über den Zuständen anderer Apps)";
    MissedCallLook => "Effect and colour", "Effekt und Farbe";
    MissedCallMinutes => "Ends after (minutes)", "Endet nach (Minuten)";
    MissedCallMinutesHint => "It also ends with your next call, or with \"Clear missed call\" above. 0: only then.",
        "Er endet auch mit Ihrem nächsten Anruf oder mit \"Verpassten Anruf löschen\" oben. 0: nur dann.";
    ClearMissedCall => "Clear missed call", "Verpassten Anruf löschen";
    SectionTrace => "Trace", "Trace";
    TraceDebug => "Debug (state dump and decisions)", "Debug (Zustand und Entscheidungen)";
    TraceHub => "kuandoHUB requests", "kuandoHUB-Anfragen";
    TraceCalls => "Call events", "Anrufereignisse";
    TracePresence => "Presence changes", "Präsenzänderungen";
    Save => "Save", "Speichern";
    Saving => "Saving…", "Speichern…";
    Saved => "Saved.", "Gespeichert.";
    SaveFailed => "Not saved:", "Nicht gespeichert:";
    FixErrors => "Please correct the marked fields.", "Bitte die markierten Felder korrigieren.";
    Defaults => "Defaults", "Standardwerte";
    TestConnection => "Test connection", "Verbindung testen";
    TestLamp => "Test lamp", "Lampe testen";
    TestSound => "Test sound", "Ton testen";
    Testing => "Testing…", "Teste…";
    HubOk => "kuandoHUB reachable.", "kuandoHUB erreichbar.";
    Devices => "Busylights connected:", "Angeschlossene Busylights:";
    TestDone => "Test finished; the lamp is released.", "Test beendet; die Lampe ist freigegeben.";
    NotLoaded => "Loading settings…", "Einstellungen werden geladen…";
    SectionStatus => "What the connector sees", "Was der Connector sieht";
    CopyDiagnosis => "Copy diagnosis", "Diagnose kopieren";
    Collecting => "Collecting…", "Sammle…";
    Copied => "Copied to the clipboard: paste it into your support request. It contains no access token.",
        "In die Zwischenablage kopiert: in die Support-Anfrage einfügen. Sie enthält kein Zugriffstoken.";
    Downloaded => "The clipboard was not available: saved as kuando-diagnosis.txt. It contains no access token.",
        "Zwischenablage nicht verfügbar: als kuando-diagnosis.txt gespeichert. Sie enthält kein Zugriffstoken.";
    CopyFailed => "Could not copy or save: select the report below and copy it.",
        "Kopieren und Speichern nicht möglich: den Bericht unten markieren und kopieren.";
    ShowReport => "Show the report", "Bericht anzeigen";
    // The live status panel; `{}` is filled in by `Text::fill`.
    LiveConnector => "Connector on this client", "Connector auf diesem Client";
    LiveOutside => "not started by myApps: open the app inside myApps", "nicht von myApps gestartet: die App in myApps öffnen";
    LiveAsking => "asking myApps…", "frage myApps…";
    LiveNotRunning => "not running on this client (myApps did not start the hidden app)", "läuft nicht auf diesem Client (myApps hat die versteckte App nicht gestartet)";
    LiveStarting => "starting, waiting for its answer…", "startet, warte auf Antwort…";
    LiveRunning => "running", "läuft";
    LiveWaitService => "waiting for the app service (license and settings)", "wartet auf den App-Service (Lizenz und Einstellungen)";
    LiveStoppedLicense => "stopped: no license", "angehalten: keine Lizenz";
    LiveStoppedUrl => "stopped: the kuandoHUB URL in the settings is unusable", "angehalten: die kuandoHUB-URL in den Einstellungen ist unbrauchbar";
    LiveStoppedSettings => "stopped: no settings yet", "angehalten: noch keine Einstellungen";
    LiveStopped => "stopped", "angehalten";
    LiveNextTryNow => "next try now", "nächster Versuch jetzt";
    LiveBlocked => "the browser blocks access to kuandoHUB", "der Browser blockiert den Zugriff auf kuandoHUB";
    LiveTooOld => "too old: no currentpresence (the lamp works, presence sync does not)", "zu alt: kein currentpresence (die Lampe geht, der Präsenzabgleich nicht)";
    LiveUrlUnusable => "the URL in the settings is unusable", "die URL in den Einstellungen ist unbrauchbar";
    LiveConnecting => "connecting…", "verbinde…";
    LiveNotInUse => "not in use", "nicht in Gebrauch";
    LiveAccessToken => "Access token", "Zugriffstoken";
    LiveTokenInUrl => crate::engine::TOKEN_IN_URL_TEXT, "kuandoHUB nimmt das Token im Header nicht an; das Token steht in der URL";
    LiveNoneConnected => "none connected", "keines angeschlossen";
    LiveNotKnownYet => "not known yet", "noch unbekannt";
    LiveLampReleased => "nothing from the connector: other apps' states show", "nichts vom Connector: die Zustände anderer Apps zeigen sich";
    LiveBecauseOfCall => "because of a call", "wegen eines Anrufs";
    LiveLampShows => "Lamp shows", "Lampe zeigt";
    LiveMissedCall => "Missed call", "Verpasster Anruf";
    LiveOthersUnknown => "unknown (kuandoHUB not connected)", "unbekannt (kuandoHUB nicht verbunden)";
    LiveNothingReported => "nothing reported", "nichts gemeldet";
    LiveOtherApps => "Other apps (kuandoHUB)", "Andere Apps (kuandoHUB)";
    LivePriorities => "kuandoHUB priorities", "kuandoHUB-Prioritäten";
    LiveNone => "none", "keine";
    LivePresenceSet => "Presence set by the connector", "Vom Connector gesetzte Präsenz";
    LiveRestores => "Restores afterwards", "Stellt danach wieder her";
    LiveCalls => "Calls in progress", "Laufende Anrufe";
    LiveLastError => "Last error", "Letzter Fehler";
    LiveNextTryIn => "next try in {}", "nächster Versuch in {}";
    LiveConnectedFor => "connected for {}", "verbunden seit {}";
    LiveUnreachableFor => "not reachable for {}", "nicht erreichbar seit {}";
    LiveUnreachableOrAsks => "not reachable for {} (or the browser asks for permission to reach it)", "nicht erreichbar seit {} (oder der Browser fragt nach der Erlaubnis für den Zugriff)";
    LiveTokenRejectedFor => "access token rejected for {}", "Zugriffstoken abgelehnt seit {}";
    LiveMissedCallSince => "missed call notification on the lamp since {} ago", "Hinweis auf einen verpassten Anruf an der Lampe seit {}";
    LiveErrorAgo => "{} ({} ago)", "{} ({} her)";
    LiveBecauseOfPresence => "because of your presence {}", "wegen Ihrer Präsenz {}";
    StateFree => "available", "verfügbar";
    StateBusy => "busy", "beschäftigt";
    StateAway => "away", "abwesend";
    StateDnd => "do not disturb", "nicht stören";
    StateOnThePhone => "on the phone", "am Telefon";
    StateLunch => "lunch", "Mittagspause";
    OtherOwn => "the connector's own lamp command", "der eigene Lampenbefehl des Connectors";
    OtherUnknownApp => "ignored: unknown application", "ignoriert: unbekannte Anwendung";
    OtherUnknownEvent => "ignored: unknown event", "ignoriert: unbekanntes Ereignis";
    RankingMayHide => "The connector's presence line may hide other apps' calls: if a call in MS Teams, Zoom or Webex does not show you on the phone,",
        "Die Präsenz-Zeile des Connectors kann Anrufe anderer Apps verdecken: zeigt ein Anruf in MS Teams, Zoom oder Webex Sie nicht als „am Telefon“,";
    RankingHides => "The connector's presence line hides other apps' calls (found: {}):",
        "Die Präsenz-Zeile des Connectors verdeckt Anrufe anderer Apps (gefunden: {}):";
    RankingMove => "{} move “{}” below MS Teams, Zoom and Webex in kuandoHUB's platform priorities",
        "{} in den Plattform-Prioritäten von kuandoHUB „{}“ unter MS Teams, Zoom und Webex schieben";
    // The core's validation and hub messages (English in the core), found by their English text.
    CoreEmpty => "is empty", "ist leer";
    CoreTooLong => "must be at most 512 characters", "darf höchstens 512 Zeichen lang sein";
    CoreScheme => "must start with http:// or https://", "muss mit http:// oder https:// beginnen";
    CoreUserInfo => "must not contain a user name or password (use the access token)", "darf keinen Benutzernamen und kein Passwort enthalten (Zugriffstoken verwenden)";
    CoreControl => "must not contain control characters", "darf keine Steuerzeichen enthalten";
    CoreSpaces => "must not contain spaces", "darf keine Leerzeichen enthalten";
    CoreNoHost => "has no host name", "enthält keinen Hostnamen";
    CorePort => "has an invalid port (1 to 65535)", "hat einen ungültigen Port (1 bis 65535)";
    CoreQuery => "must not contain ? or #", "darf kein ? oder # enthalten";
    CorePollRange => "must be between 1 and 60 seconds", "muss zwischen 1 und 60 Sekunden liegen";
    CoreColour => "must be a colour like #ff0000", "muss eine Farbe wie #ff0000 sein";
    CoreSoundRange => "must be between 0 and 8", "muss zwischen 0 und 8 liegen";
    CoreVolumeRange => "must be between 0 and 100", "muss zwischen 0 und 100 liegen";
    CoreNumber => "must be a number", "muss eine Zahl sein";
    CoreMissedEffect => "must be light, blink or pulse", "muss Leuchten, Blinken oder Pulsieren sein";
    CoreMinutesRange => "must be between 0 and 1440 minutes", "muss zwischen 0 und 1440 Minuten liegen";
    CoreUnknownEffect => "unknown effect", "unbekannter Effekt";
    CoreHubTimeout => "kuandoHUB did not answer in time", "kuandoHUB hat nicht rechtzeitig geantwortet";
    CoreHubNetwork => "kuandoHUB not reachable", "kuandoHUB nicht erreichbar";
    CoreHubUnauthorized => "kuandoHUB rejected the access token (401)", "kuandoHUB hat das Zugriffstoken abgelehnt (401)";
    CoreHubNoDevice => "no Busylight connected (404)", "kein Busylight angeschlossen (404)";
}

impl Text {
    /// The text with each `{}` replaced by the next of `values`, in order (a value's own `{}` stays).
    pub fn fill(self, lang: Lang, values: &[&str]) -> String {
        // Split at each `{` (a character, not a substring: no string searcher in the wasm).
        let mut pieces = self.get(lang).split('{');
        let mut out = pieces.next().unwrap_or("").to_string();
        let mut values = values.iter();
        for piece in pieces {
            match piece.strip_prefix('}') {
                Some(rest) => {
                    out.push_str(values.next().copied().unwrap_or(""));
                    out.push_str(rest);
                }
                None => {
                    out.push('{');
                    out.push_str(piece);
                }
            }
        }
        out
    }

    /// A message the core wrote in English (validation, hub errors) in the UI language: the text whose
    /// English it is; an unknown message stays English.
    pub fn translate(lang: Lang, english: &str) -> String {
        match Text::ALL.iter().find(|t| t.get(Lang::En) == english) {
            Some(t) => t.get(lang).to_string(),
            None => english.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_parse() {
        assert_eq!(Lang::parse("de"), Lang::De);
        assert_eq!(Lang::parse("DE-ch"), Lang::De);
        assert_eq!(Lang::parse("en"), Lang::En);
        assert_eq!(Lang::parse("fr"), Lang::En);
        assert_eq!(Lang::parse(""), Lang::En);
    }

    #[test]
    fn banners_tell_the_user_what_to_do_in_at_most_two_sentences() {
        use Text::*;
        for t in [
            BannerNoLicense,
            BannerNoHub,
            BannerTooOld,
            BannerToken,
            BannerBadAnswer,
            BannerLnaPrompt,
            BannerLnaDenied,
            BannerNoBusylight,
            BannerLicenseNoAdmin,
            BannerLicenseUnchecked,
            BannerService,
        ] {
            for lang in [Lang::En, Lang::De] {
                let s = t.get(lang);
                let sentences = s.matches(". ").count() + usize::from(s.ends_with('.'));
                assert!(sentences <= 2, "{t:?} {lang:?}: {s}");
                for admin in [
                    "AllowedForUrls",
                    "iframe",
                    "allow=",
                    "Richtlinie",
                    "polic",
                    "app object",
                    "App-Objekt",
                ] {
                    assert!(!s.contains(admin), "{t:?} {lang:?} has {admin:?}: {s}");
                }
            }
        }
    }

    #[test]
    fn values_fill_the_placeholders_in_order_and_their_own_braces_stay() {
        assert_eq!(
            Text::LiveErrorAgo.fill(Lang::En, &["no answer", "5 s"]),
            "no answer (5 s ago)"
        );
        assert_eq!(
            Text::LiveErrorAgo.fill(Lang::De, &["{}", "5 s"]),
            "{} (5 s her)"
        );
        assert_eq!(
            Text::LiveConnectedFor.fill(Lang::De, &[]),
            "verbunden seit "
        );
    }

    #[test]
    fn every_template_has_as_many_placeholders_in_german_as_in_english() {
        for t in Text::ALL {
            let n = |l| t.get(l).matches("{}").count();
            assert_eq!(n(Lang::En), n(Lang::De), "{t:?}");
        }
    }

    #[test]
    fn texts_exist_in_both_languages() {
        assert_eq!(Text::Save.get(Lang::En), "Save");
        assert_eq!(Text::Save.get(Lang::De), "Speichern");
        assert!(Text::BannerNoHub.get(Lang::De).contains("kuandoHUB"));
    }

    #[test]
    fn every_core_validation_message_has_a_german_text() {
        use crate::config::Config;
        let mut c = Config {
            hub_url: "ftp://x".into(),
            token: "a b".into(),
            poll_interval: 0,
            ..Config::default()
        };
        c.lamp.ringing.color = "x".into();
        c.lamp.ringing.sound = 10;
        c.lamp.ringing.volume = 200;
        c.missed_call.effect = crate::config::Effect::Alert;
        c.missed_call.color = "x".into();
        c.missed_call.minutes = 1441;
        let errors = c.validate();
        assert!(errors.len() >= 6);
        for e in errors {
            assert_ne!(
                Text::translate(Lang::De, &e.message),
                e.message,
                "{}",
                e.message
            );
        }
        for u in [
            "",
            "http://a@b",
            "http://a:0",
            "http://",
            "http://a/?",
            "http://a\u{1}",
        ] {
            if let Err(e) = crate::hub::BaseUrl::parse(u) {
                assert_ne!(
                    Text::translate(Lang::De, &e.to_string()),
                    e.to_string(),
                    "{e}"
                );
            }
        }
    }
}
