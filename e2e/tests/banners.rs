//! The config app's banners speak to the user: what *they* can do, in one or two short sentences; the
//! administrator's detail (browser policies, iframe delegation) is in the PBX Manager's Users view and README.
//! Checked on the banners of the browser's Local Network Access (denied, asking), the ones that carried it,
//! in headless Chromium with the myApps pages as a public origin; screenshots `banner-denied.png`,
//! `banner-prompt.png` under target/screenshots/.

use std::time::Duration;

use kuando_e2e::fleet::set_local_network;
use kuando_e2e::{screenshots_dir, shots, Setup, Story};

async fn set_permission(story: &Story, setting: &str) {
    let origin = format!("http://127.0.0.1:{}", story.sims.myapps.addr.port());
    set_local_network(&story.browser, &origin, setting).await;
}

/// The banner's text, checked: at most two sentences, no policy or iframe words.
async fn user_words(story: &Story, id: &str) -> Result<String, String> {
    let script = format!("return document.getElementById('{id}').textContent;");
    let text = story.browser.js_in("config", &script).await?;
    let text = text.as_str().unwrap_or("").to_string();
    let sentences = text.matches(". ").count() + usize::from(text.trim_end().ends_with('.'));
    assert!(sentences <= 2, "{id}: more than two sentences: {text}");
    for admin in [
        "Policy",
        "policies",
        "AllowedForUrls",
        "iframe",
        "allow=",
        "administrator can",
    ] {
        assert!(
            !text.contains(admin),
            "{id}: administrator's detail {admin:?}: {text}"
        );
    }
    Ok(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_network_banners_tell_the_user_what_to_do_in_two_sentences() -> Result<(), String>
{
    let mut story = Story::start_public("banners", Setup::default()).await?;
    set_permission(&story, "granted").await;
    story.start_product().await?;
    let dir = screenshots_dir();
    for (setting, id, file) in [
        ("denied", "banner-local-network-denied", "banner-denied.png"),
        ("prompt", "banner-local-network-prompt", "banner-prompt.png"),
    ] {
        set_permission(&story, setting).await;
        story
            .config_banner(id, true, Duration::from_secs(15))
            .await?;
        shots::config_in_scheme(&story, "dark", &dir.join(file)).await?;
        let text = user_words(&story, id).await?;
        story.done(&format!("{setting}: {text}"));
    }
    story.finish().await;
    Ok(())
}
