//! The config app's DOM: built once, then updated from [`View`] on every change. It renders and reports
//! what the user did; every decision (what is an error, what a banner says, what a button may do) was made in
//! `config_app`. Texts from outside are set with `textContent`/`value`, never as HTML.

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, Event, HtmlButtonElement, HtmlInputElement, HtmlSelectElement};

use crate::config::{Effect, LampSlot};
use crate::config_app::i18n::{Lang, Text};
use crate::config_app::live::{slot_text, Tone};
use crate::config_app::{Banner, Button, CopyState, SaveState, TestStatus, View};
use crate::hub::Sound;

/// What the user did.
pub enum UiEvent {
    Input(String, String),
    Click(Button),
}

type Handler = Rc<dyn Fn(UiEvent)>;

/// What a text field holds: its input type, and for numbers the accepted range (the core's own limits).
enum Kind {
    Url,
    Password,
    Number(std::ops::RangeInclusive<u32>),
}

/// A form control bound to a field path.
enum Control {
    Input(HtmlInputElement),
    Select(HtmlSelectElement),
    Check(HtmlInputElement),
}

struct Field {
    path: String,
    control: Control,
    error: Element,
}

pub struct Ui {
    doc: Document,
    root: Element,
    banners: Element,
    loading: Element,
    fields: Vec<Field>,
    labels: Vec<(Element, Text)>,
    /// `<option>`s whose text is a UI text (effect names).
    options: Vec<(Element, Text)>,
    buttons: Vec<(HtmlButtonElement, Button)>,
    token_toggle: HtmlButtonElement,
    save_status: Element,
    test_status: Element,
    lamp_note: Element,
    /// The live status panel (issue 14).
    status_rows: Element,
    copy_status: Element,
    report: Element,
    report_text: Element,
    /// "kuandoHUB listens on localhost" under the hub URL (issue 12).
    url_hint: Element,
    /// The box of the "Allow access to kuandoHUB" button.
    allow_box: Option<Element>,
    lang: Option<Lang>,
    _listeners: Vec<Closure<dyn FnMut(Event)>>,
}

fn effect_text(e: Effect) -> Text {
    match e {
        Effect::Light => Text::EffectLight,
        Effect::Blink => Text::EffectBlink,
        Effect::Pulse => Text::EffectPulse,
        Effect::Alert => Text::EffectAlert,
        Effect::Jingle => Text::EffectJingle,
        Effect::Off => Text::EffectOff,
    }
}

fn button_text(b: Button) -> Text {
    match b {
        Button::Save => Text::Save,
        Button::Defaults => Text::Defaults,
        Button::ToggleToken => Text::Show,
        Button::TestConnection => Text::TestConnection,
        Button::TestLamp => Text::TestLamp,
        Button::TestSound => Text::TestSound,
        Button::CopyDiagnosis => Text::CopyDiagnosis,
        Button::AllowLocalNetwork => Text::AllowLna,
        Button::ClearMissedCall => Text::ClearMissedCall,
    }
}

impl Ui {
    /// Builds the page inside `<body>`. `None` only if the document is unusable.
    pub fn build(doc: &Document, on_event: impl Fn(UiEvent) + 'static) -> Option<Ui> {
        let body = doc.body()?;
        let handler: Handler = Rc::new(on_event);
        let el = |tag: &str, class: &str| -> Option<Element> {
            let e = doc.create_element(tag).ok()?;
            if !class.is_empty() {
                e.set_class_name(class);
            }
            Some(e)
        };
        let root = el("main", "app")?;
        let mut ui = Ui {
            doc: doc.clone(),
            banners: el("div", "banners")?,
            loading: el("p", "loading")?,
            fields: Vec::new(),
            labels: Vec::new(),
            options: Vec::new(),
            buttons: Vec::new(),
            token_toggle: el("button", "inline")?.dyn_into().ok()?,
            save_status: el("span", "status")?,
            test_status: el("p", "status")?,
            lamp_note: el("p", "note")?,
            status_rows: el("dl", "status-rows")?,
            copy_status: el("span", "status")?,
            report: el("details", "report")?,
            report_text: el("pre", "")?,
            url_hint: el("p", "note")?,
            allow_box: None,
            lang: None,
            _listeners: Vec::new(),
            root: root.clone(),
        };
        let title = el("h1", "")?;
        ui.labels.push((title.clone(), Text::Title));
        root.append_child(&title).ok()?;
        root.append_child(&ui.banners).ok()?;
        // "Allow access to kuandoHUB" under the banners (shown while the permission is `prompt`).
        let allow = el("div", "actions")?;
        allow.set_id("allow-local-network");
        ui.button(&allow, Button::AllowLocalNetwork, &handler)?;
        root.append_child(&allow).ok()?;
        ui.allow_box = Some(allow);
        ui.labels.push((ui.loading.clone(), Text::NotLoaded));
        root.append_child(&ui.loading).ok()?;

        // What the hidden app on this client sees, live; and the diagnosis for support.
        let live = ui.section(&root, Text::SectionStatus)?;
        live.set_id("status");
        ui.status_rows.set_id("status-rows");
        live.append_child(&ui.status_rows).ok()?;
        let row = el("div", "buttons")?;
        ui.button(&row, Button::CopyDiagnosis, &handler)?;
        ui.button(&row, Button::ClearMissedCall, &handler)?;
        ui.copy_status.set_id("copy-status");
        row.append_child(&ui.copy_status).ok()?;
        live.append_child(&row).ok()?;
        ui.report.set_id("diagnosis");
        let summary = el("summary", "")?;
        ui.labels.push((summary.clone(), Text::ShowReport));
        ui.report.append_child(&summary).ok()?;
        ui.report_text.set_id("diagnosis-text");
        ui.report.append_child(&ui.report_text).ok()?;
        live.append_child(&ui.report).ok()?;

        // kuandoHUB section.
        let hub = ui.section(&root, Text::SectionHub)?;
        ui.text_field(
            &hub,
            "hubUrl",
            Text::HubUrl,
            Some(Text::HubUrlHint),
            Kind::Url,
            &handler,
        )?;
        ui.url_hint.set_id("hint-hub-url-localhost");
        ui.labels
            .push((ui.url_hint.clone(), Text::HubUrlLoopbackHint));
        hub.append_child(&ui.url_hint).ok()?;
        let token_row = ui.text_field(
            &hub,
            "token",
            Text::Token,
            Some(Text::TokenHint),
            Kind::Password,
            &handler,
        )?;
        token_row.append_child(&ui.token_toggle).ok()?;
        ui.token_toggle.set_type("button");
        ui.token_toggle.set_id("token-toggle");
        ui.listen_click(&ui.token_toggle.clone(), Button::ToggleToken, &handler);
        ui.text_field(
            &hub,
            "pollInterval",
            Text::PollInterval,
            None,
            Kind::Number(crate::config::POLL_INTERVAL_RANGE_S),
            &handler,
        )?;
        let row = el("div", "buttons")?;
        ui.button(&row, Button::TestConnection, &handler)?;
        hub.append_child(&row).ok()?;
        ui.test_status.set_id("test-status");
        hub.append_child(&ui.test_status).ok()?;

        // Busylight section: one row per state.
        let lamp = ui.section(&root, Text::SectionLamp)?;
        ui.lamp_note.set_id("no-lamp-note");
        ui.labels.push((ui.lamp_note.clone(), Text::NoLampNote));
        lamp.append_child(&ui.lamp_note).ok()?;
        let table = el("div", "lamp-table")?;
        let head = el("div", "lamp-row head")?;
        for (t, col) in [
            (None, ""),
            (Some(Text::Effect), "effect"),
            (Some(Text::Color), "color"),
            (Some(Text::Sound), "sound"),
            (Some(Text::Volume), "volume"),
        ] {
            let c = el("span", "")?;
            if let Some(t) = t {
                ui.labels.push((c.clone(), t));
                // The row's controls are named by their slot and this column (aria-labelledby).
                c.set_id(&format!("lamp-col-{col}"));
            }
            head.append_child(&c).ok()?;
        }
        table.append_child(&head).ok()?;
        for slot in LampSlot::ALL {
            ui.lamp_row(&table, slot, &handler)?;
        }
        lamp.append_child(&table).ok()?;
        let row = el("div", "buttons")?;
        ui.button(&row, Button::TestLamp, &handler)?;
        ui.button(&row, Button::TestSound, &handler)?;
        lamp.append_child(&row).ok()?;

        // Missed-call section.
        let mc = ui.section(&root, Text::SectionMissedCall)?;
        mc.set_id("missed-call");
        ui.checkbox(&mc, "missedCall.enabled", Text::MissedCallEnabled, &handler)?;
        ui.missed_call_look(&mc, &handler)?;
        ui.text_field(
            &mc,
            "missedCall.minutes",
            Text::MissedCallMinutes,
            Some(Text::MissedCallMinutesHint),
            Kind::Number(0..=crate::config::MAX_MISSED_CALL_MINUTES),
            &handler,
        )?;

        // Trace section.
        let tr = ui.section(&root, Text::SectionTrace)?;
        for (path, t) in [
            ("trace.debug", Text::TraceDebug),
            ("trace.hub", Text::TraceHub),
            ("trace.calls", Text::TraceCalls),
            ("trace.presence", Text::TracePresence),
        ] {
            ui.checkbox(&tr, path, t, &handler)?;
        }

        // Footer.
        let footer = el("footer", "buttons")?;
        ui.button(&footer, Button::Save, &handler)?;
        ui.button(&footer, Button::Defaults, &handler)?;
        ui.save_status.set_id("save-status");
        footer.append_child(&ui.save_status).ok()?;
        root.append_child(&footer).ok()?;

        body.append_child(&root).ok()?;
        Some(ui)
    }

    fn section(&mut self, parent: &Element, title: Text) -> Option<Element> {
        let s = self.doc.create_element("section").ok()?;
        let h = self.doc.create_element("h2").ok()?;
        self.labels.push((h.clone(), title));
        s.append_child(&h).ok()?;
        parent.append_child(&s).ok()?;
        Some(s)
    }

    /// Registers the control of the setting at `path` with its error element, which it returns for the
    /// caller to place.
    fn field(&mut self, path: &str, control: Control) -> Option<Element> {
        let error = self.doc.create_element("div").ok()?;
        error.set_class_name("error");
        error.set_id(&format!("error-{}", path.replace('.', "-")));
        self.fields.push(Field {
            path: path.into(),
            control,
            error: error.clone(),
        });
        Some(error)
    }

    fn text_field(
        &mut self,
        parent: &Element,
        path: &str,
        label: Text,
        hint: Option<Text>,
        kind: Kind,
        handler: &Handler,
    ) -> Option<Element> {
        let wrap = self.doc.create_element("div").ok()?;
        wrap.set_class_name("field");
        let l = self.doc.create_element("label").ok()?;
        l.set_attribute("for", &id_of(path)).ok()?;
        self.labels.push((l.clone(), label));
        wrap.append_child(&l).ok()?;
        let row = self.doc.create_element("div").ok()?;
        row.set_class_name("row");
        let input: HtmlInputElement = self.doc.create_element("input").ok()?.dyn_into().ok()?;
        match kind {
            Kind::Url => input.set_type("url"),
            Kind::Password => input.set_type("password"),
            Kind::Number(range) => {
                input.set_type("number");
                input.set_min(&range.start().to_string());
                input.set_max(&range.end().to_string());
            }
        }
        input.set_id(&id_of(path));
        input.set_autocomplete("off");
        input.set_attribute("spellcheck", "false").ok()?;
        row.append_child(&input).ok()?;
        wrap.append_child(&row).ok()?;
        if let Some(h) = hint {
            let p = self.doc.create_element("div").ok()?;
            p.set_class_name("hint");
            self.labels.push((p.clone(), h));
            wrap.append_child(&p).ok()?;
        }
        self.listen_input(input.as_ref(), path, handler, false);
        let error = self.field(path, Control::Input(input))?;
        wrap.append_child(&error).ok()?;
        parent.append_child(&wrap).ok()?;
        Some(row)
    }

    fn checkbox(
        &mut self,
        parent: &Element,
        path: &str,
        label: Text,
        handler: &Handler,
    ) -> Option<()> {
        let l = self.doc.create_element("label").ok()?;
        l.set_class_name("check");
        let input: HtmlInputElement = self.doc.create_element("input").ok()?.dyn_into().ok()?;
        input.set_type("checkbox");
        input.set_id(&id_of(path));
        l.append_child(&input).ok()?;
        let span = self.doc.create_element("span").ok()?;
        self.labels.push((span.clone(), label));
        l.append_child(&span).ok()?;
        parent.append_child(&l).ok()?;
        self.listen_input(input.as_ref(), path, handler, true);
        self.field(path, Control::Check(input))?;
        Some(())
    }

    fn select(
        &mut self,
        path: &str,
        options: &[(String, Option<Text>)],
        handler: &Handler,
    ) -> Option<HtmlSelectElement> {
        let s: HtmlSelectElement = self.doc.create_element("select").ok()?.dyn_into().ok()?;
        s.set_id(&id_of(path));
        for (value, text) in options {
            let o = self.doc.create_element("option").ok()?;
            o.set_attribute("value", value).ok()?;
            match text {
                Some(t) => self.options.push((o.clone(), *t)),
                None => o.set_text_content(Some(value)),
            }
            s.append_child(&o).ok()?;
        }
        self.listen_input(s.as_ref(), path, handler, false);
        Some(s)
    }

    /// The missed-call notification's effect (no sound: it may stay for long) and colour, under one label.
    fn missed_call_look(&mut self, parent: &Element, handler: &Handler) -> Option<()> {
        let wrap = self.doc.create_element("div").ok()?;
        wrap.set_class_name("field");
        let l = self.doc.create_element("label").ok()?;
        l.set_attribute("for", &id_of("missedCall.effect")).ok()?;
        l.set_id("missedCall-look");
        self.labels.push((l.clone(), Text::MissedCallLook));
        wrap.append_child(&l).ok()?;
        let row = self.doc.create_element("div").ok()?;
        row.set_class_name("row");
        wrap.append_child(&row).ok()?;
        let effects: Vec<(String, Option<Text>)> = crate::config::MISSED_CALL_EFFECTS
            .iter()
            .map(|e| (e.as_str().to_string(), Some(effect_text(*e))))
            .collect();
        let effect = self.select("missedCall.effect", &effects, handler)?;
        row.append_child(&effect).ok()?;
        let color: HtmlInputElement = self.doc.create_element("input").ok()?.dyn_into().ok()?;
        color.set_type("color");
        color.set_id(&id_of("missedCall.color"));
        // The one label names both controls: the select by `for`, the colour by reference.
        color
            .set_attribute("aria-labelledby", "missedCall-look")
            .ok()?;
        self.listen_input(color.as_ref(), "missedCall.color", handler, false);
        row.append_child(&color).ok()?;
        for (path, control) in [
            ("missedCall.effect", Control::Select(effect)),
            ("missedCall.color", Control::Input(color)),
        ] {
            let error = self.field(path, control)?;
            wrap.append_child(&error).ok()?;
        }
        parent.append_child(&wrap).ok()?;
        Some(())
    }

    fn lamp_row(&mut self, table: &Element, slot: LampSlot, handler: &Handler) -> Option<()> {
        let row = self.doc.create_element("div").ok()?;
        row.set_class_name("lamp-row");
        let name = self.doc.create_element("span").ok()?;
        name.set_class_name("slot");
        name.set_id(&format!("lamp-slot-{}", slot.as_str()));
        self.labels.push((name.clone(), slot_text(slot)));
        row.append_child(&name).ok()?;
        let base = format!("lamp.{}", slot.as_str());
        // An accessible name for each control: "<slot> <column>", in the page's language.
        let named = |e: &Element, col: &str| {
            let _ = e.set_attribute(
                "aria-labelledby",
                &format!("lamp-slot-{} lamp-col-{col}", slot.as_str()),
            );
        };

        let effects: Vec<(String, Option<Text>)> = Effect::ALL
            .iter()
            .map(|e| (e.as_str().to_string(), Some(effect_text(*e))))
            .collect();
        let path = format!("{base}.effect");
        let effect = self.select(&path, &effects, handler)?;
        named(&effect, "effect");
        row.append_child(&effect).ok()?;
        self.field(&path, Control::Select(effect))?;

        let path = format!("{base}.color");
        let color: HtmlInputElement = self.doc.create_element("input").ok()?.dyn_into().ok()?;
        color.set_type("color");
        color.set_id(&id_of(&path));
        self.listen_input(color.as_ref(), &path, handler, false);
        named(&color, "color");
        row.append_child(&color).ok()?;
        self.field(&path, Control::Input(color))?;

        let sounds: Vec<(String, Option<Text>)> = Sound::ALL
            .iter()
            .map(|s| (s.number().to_string(), None))
            .collect();
        let path = format!("{base}.sound");
        let sound = self.select(&path, &sounds, handler)?;
        // Sound names are kuandoHUB's own (not translated), set once.
        let opts = sound.options();
        for (i, s) in Sound::ALL.iter().enumerate() {
            if let Some(o) = opts.item(i as u32) {
                o.set_text_content(Some(s.name()));
            }
        }
        named(&sound, "sound");
        row.append_child(&sound).ok()?;
        self.field(&path, Control::Select(sound))?;

        let path = format!("{base}.volume");
        let volume: HtmlInputElement = self.doc.create_element("input").ok()?.dyn_into().ok()?;
        volume.set_type("number");
        volume.set_min("0");
        volume.set_max("100");
        volume.set_step("25");
        volume.set_id(&id_of(&path));
        self.listen_input(volume.as_ref(), &path, handler, false);
        named(&volume, "volume");
        row.append_child(&volume).ok()?;
        self.field(&path, Control::Input(volume))?;

        table.append_child(&row).ok()?;
        // Row errors under the row.
        for f in self.fields.iter().rev().take(4) {
            table.append_child(&f.error).ok()?;
        }
        Some(())
    }

    fn button(&mut self, parent: &Element, b: Button, handler: &Handler) -> Option<()> {
        let btn: HtmlButtonElement = self.doc.create_element("button").ok()?.dyn_into().ok()?;
        btn.set_type("button");
        btn.set_id(&format!("btn-{}", format!("{b:?}").to_ascii_lowercase()));
        if b == Button::Save {
            btn.set_class_name("primary");
        }
        self.listen_click(&btn, b, handler);
        parent.append_child(&btn).ok()?;
        self.buttons.push((btn, b));
        Some(())
    }

    fn listen_click(&mut self, btn: &HtmlButtonElement, b: Button, handler: &Handler) {
        let h = handler.clone();
        let cb = Closure::<dyn FnMut(Event)>::new(move |_| h(UiEvent::Click(b)));
        let _ = btn.add_event_listener_with_callback("click", cb.as_ref().unchecked_ref());
        self._listeners.push(cb);
    }

    fn listen_input(
        &mut self,
        target: &web_sys::EventTarget,
        path: &str,
        handler: &Handler,
        checkbox: bool,
    ) {
        let h = handler.clone();
        let p = path.to_string();
        let cb = Closure::<dyn FnMut(Event)>::new(move |ev: Event| {
            let Some(t) = ev.target() else { return };
            let value = if let Some(i) = t.dyn_ref::<HtmlInputElement>() {
                if checkbox {
                    i.checked().to_string()
                } else {
                    i.value()
                }
            } else if let Some(s) = t.dyn_ref::<HtmlSelectElement>() {
                s.value()
            } else {
                return;
            };
            h(UiEvent::Input(p.clone(), value));
        });
        let event = if checkbox { "change" } else { "input" };
        let _ = target.add_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
        self._listeners.push(cb);
    }

    /// Brings the DOM in line with `view`.
    pub fn render(&mut self, view: &View) {
        let lang = view.lang;
        let _ = self
            .doc
            .document_element()
            .map(|h| h.set_attribute("lang", lang.code()));
        let _ = self
            .root
            .set_attribute("data-scheme", if view.dark { "dark" } else { "light" });
        if let Some(body) = self.doc.body() {
            body.set_class_name(if view.dark { "dark" } else { "light" });
        }
        if self.lang != Some(lang) {
            for (e, t) in self.labels.iter().chain(self.options.iter()) {
                e.set_text_content(Some(t.get(lang)));
            }
            for (b, t) in &self.buttons {
                b.set_text_content(Some(button_text(*t).get(lang)));
            }
            self.lang = Some(lang);
        }

        // Banners: rebuilt (at most a handful), text only.
        self.banners.set_text_content(None);
        for b in &view.banners {
            if let Ok(d) = self.doc.create_element("div") {
                d.set_class_name("banner");
                d.set_id(&format!("banner-{}", banner_id(*b)));
                d.set_attribute("role", "alert").ok();
                d.set_text_content(Some(b.text().get(lang)));
                let _ = self.banners.append_child(&d);
            }
        }
        set_hidden(&self.loading, view.loaded);

        let active = self.doc.active_element();
        for f in &self.fields {
            let value = field_value(view, &f.path);
            match &f.control {
                Control::Input(i) => {
                    if f.path == "token" {
                        i.set_type(if view.token_visible {
                            "text"
                        } else {
                            "password"
                        });
                    }
                    if f.path.ends_with(".volume") {
                        i.set_disabled(!view.sound_applies(&f.path));
                    }
                    // Never overwrite what the user is typing.
                    let focused = active.as_ref().is_some_and(|a| a == i.as_ref() as &Element);
                    if !focused && i.value() != value {
                        i.set_value(&value);
                    }
                }
                Control::Select(s) => {
                    if s.value() != value {
                        s.set_value(&value);
                    }
                    if f.path.ends_with(".sound") {
                        s.set_disabled(!view.sound_applies(&f.path));
                    }
                }
                Control::Check(c) => c.set_checked(value == "true"),
            }
            let err = view.errors.get(&f.path);
            f.error.set_text_content(err.map(String::as_str));
            set_hidden(&f.error, err.is_none());
            let ctl: &Element = match &f.control {
                Control::Input(i) | Control::Check(i) => i.as_ref(),
                Control::Select(s) => s.as_ref(),
            };
            let _ = ctl.set_attribute("aria-invalid", if err.is_some() { "true" } else { "false" });
        }
        self.token_toggle.set_text_content(Some(
            if view.token_visible {
                Text::Hide
            } else {
                Text::Show
            }
            .get(lang),
        ));

        for (btn, b) in &self.buttons {
            let enabled = match b {
                Button::Save => view.can_save,
                Button::TestLamp | Button::TestSound => view.lamp_tests,
                Button::TestConnection => view.test != TestStatus::Running,
                Button::CopyDiagnosis => view.copy != CopyState::Collecting,
                Button::Defaults
                | Button::ToggleToken
                | Button::AllowLocalNetwork
                | Button::ClearMissedCall => true,
            };
            btn.set_disabled(!enabled);
            if *b == Button::ClearMissedCall {
                set_hidden(btn, !view.missed_call);
            }
        }
        set_hidden(&self.lamp_note, !view.no_lamp_note);
        set_hidden(&self.url_hint, !view.hub_url_hint);
        if let Some(b) = &self.allow_box {
            set_hidden(b, !view.allow_local_network);
        }

        let (text, class) = match &view.save {
            SaveState::Idle => (String::new(), "status"),
            SaveState::Saving => (Text::Saving.get(lang).to_string(), "status"),
            SaveState::Saved => (Text::Saved.get(lang).to_string(), "status ok"),
            SaveState::Failed(t) => (t.clone(), "status failed"),
        };
        self.save_status.set_text_content(Some(&text));
        self.save_status.set_class_name(class);
        let (text, class) = match &view.test {
            TestStatus::Idle => (String::new(), "status"),
            TestStatus::Running => (Text::Testing.get(lang).to_string(), "status"),
            TestStatus::Ok(t) => (t.clone(), "status ok"),
            TestStatus::Failed(t) => (t.clone(), "status failed"),
        };
        self.test_status.set_text_content(Some(&text));
        self.test_status.set_class_name(class);
        self.render_status(view);
    }

    /// The live status rows (rebuilt: a dozen lines of text at most) and the diagnosis' state.
    fn render_status(&mut self, view: &View) {
        let lang = view.lang;
        self.status_rows.set_text_content(None);
        for r in &view.status {
            let (Ok(line), Ok(dt), Ok(dd)) = (
                self.doc.create_element("div"),
                self.doc.create_element("dt"),
                self.doc.create_element("dd"),
            ) else {
                return;
            };
            line.set_id(&format!("status-{}", r.key));
            line.set_class_name(match r.tone {
                Tone::Ok => "srow ok",
                Tone::Bad => "srow bad",
                Tone::Plain => "srow",
            });
            dt.set_text_content(Some(&r.label));
            dd.set_text_content(Some(&r.value));
            let _ = line.append_child(&dt);
            let _ = line.append_child(&dd);
            let _ = self.status_rows.append_child(&line);
        }
        let (text, class) = match view.copy {
            CopyState::Idle | CopyState::Copying => (None, "status"),
            CopyState::Collecting => (Some(Text::Collecting), "status"),
            CopyState::Copied => (Some(Text::Copied), "status ok"),
            CopyState::Downloaded => (Some(Text::Downloaded), "status ok"),
            CopyState::Failed => (Some(Text::CopyFailed), "status failed"),
        };
        self.copy_status
            .set_text_content(Some(text.map_or("", |t| t.get(lang))));
        self.copy_status.set_class_name(class);
        set_hidden(&self.report, view.report.is_none());
        if let Some(r) = &view.report {
            if self.report_text.text_content().as_deref() != Some(r.as_str()) {
                self.report_text.set_text_content(Some(r));
            }
        }
    }
}

fn id_of(path: &str) -> String {
    format!("f-{}", path.replace('.', "-"))
}

fn banner_id(b: Banner) -> &'static str {
    match b {
        Banner::NoLicense => "no-license",
        Banner::LicenseNoAdmin => "license-no-admin",
        Banner::LicenseUnchecked => "license-unchecked",
        Banner::ServiceDown => "service-down",
        Banner::NoHub => "no-hub",
        Banner::TokenRejected => "token-rejected",
        Banner::TooOld => "too-old",
        Banner::NoBusylight => "no-busylight",
        Banner::BadAnswer => "bad-answer",
        Banner::LocalNetworkPrompt => "local-network-prompt",
        Banner::LocalNetworkDenied => "local-network-denied",
    }
}

fn set_hidden(e: &Element, hidden: bool) {
    let _ = if hidden {
        e.set_attribute("hidden", "")
    } else {
        e.remove_attribute("hidden")
    };
}

/// The form's value for a field path, as the control shows it.
fn field_value(view: &View, path: &str) -> String {
    view.form.field(path).unwrap_or_default()
}
