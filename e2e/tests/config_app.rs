//! Config app stories that need no hidden app.

use kuando_e2e::{screenshots_dir, shots, Setup, Story};

/// The config app follows myApps' colour scheme: it starts dark (`start.scheme`), turns light on `SetScheme`,
/// and both are saved as screenshots under `target/screenshots/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_app_light_and_dark_screenshots() -> Result<(), String> {
    let mut story = Story::start("config app light and dark", Setup::default()).await?;
    story.open_launcher("dark").await?;
    story.config_loaded().await?;
    story.done("config app loaded");
    let [(dark, dark_bg), (light, light_bg)] =
        shots::config_both_schemes(&story, &screenshots_dir()).await?;
    story.done("dark and light screenshots");
    let dark_l = shots::luminance(&dark_bg).ok_or(format!("dark background {dark_bg:?}"))?;
    let light_l = shots::luminance(&light_bg).ok_or(format!("light background {light_bg:?}"))?;
    assert!(
        dark_l < 0.35,
        "dark scheme paints a light background {dark_bg}"
    );
    assert!(
        light_l > 0.65,
        "light scheme paints a dark background {light_bg}"
    );
    for f in [&dark, &light] {
        let len = std::fs::metadata(f)
            .map_err(|e| format!("{}: {e}", f.display()))?
            .len();
        assert!(len > 10_000, "{} is only {len} bytes", f.display());
    }
    story.finish().await;
    Ok(())
}
