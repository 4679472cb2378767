//! "Copy diagnosis" in the browser (config app only): the report into the clipboard, or, where the clipboard
//! is refused (a frame without the permission, no focus, an old browser), downloaded as a file. Decides
//! nothing: the report was built by the core, and the outcome goes back to it.

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, Url, Window};

/// Copies `text`; calls `done` once: `Ok(true)` copied, `Ok(false)` downloaded as `file_name`, `Err` neither.
pub fn copy_or_download(
    window: &Window,
    text: &str,
    file_name: &str,
    done: impl FnOnce(Result<bool, String>) + 'static,
) {
    let promise: Promise = window.navigator().clipboard().write_text(text);
    let done = std::rc::Rc::new(std::cell::RefCell::new(Some(done)));
    let (w, t, f, d) = (
        window.clone(),
        text.to_string(),
        file_name.to_string(),
        done.clone(),
    );
    let ok = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        if let Some(cb) = done.borrow_mut().take() {
            cb(Ok(true));
        }
    });
    let refused = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        if let Some(cb) = d.borrow_mut().take() {
            cb(download(&w, &t, &f).map(|()| false));
        }
    });
    let _ = promise.then2(&ok, &refused);
    // Two small closures per click of a button a user presses once in a while: left to the page's lifetime
    // rather than tracked.
    ok.forget();
    refused.forget();
}

fn download(window: &Window, text: &str, file_name: &str) -> Result<(), String> {
    let err = |e: JsValue| e.as_string().unwrap_or_else(|| "download refused".into());
    let parts = Array::of1(&JsValue::from_str(text));
    let opts = BlobPropertyBag::new();
    opts.set_type("text/plain;charset=utf-8");
    let blob = Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(err)?;
    let url = Url::create_object_url_with_blob(&blob).map_err(err)?;
    let doc = window.document().ok_or("no document")?;
    let a: HtmlAnchorElement = doc
        .create_element("a")
        .map_err(err)?
        .dyn_into()
        .map_err(|_| "no anchor".to_string())?;
    a.set_href(&url);
    a.set_download(file_name);
    a.click();
    Ok(())
}
