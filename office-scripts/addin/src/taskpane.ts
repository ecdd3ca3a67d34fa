// The FlaskLLM task pane (Home ▸ FlaskLLM ▸ Settings): the server's URL and your token, kept in
// OfficeRuntime.storage where the custom functions (functions.ts, same page) read them. The
// token is typed here by each user and stored on their machine: it is never in the add-in's
// source or manifest.

Office.onReady(async () => {
  const form = document.getElementById("settings") as HTMLFormElement;
  const urlInput = document.getElementById("url") as HTMLInputElement;
  const tokenInput = document.getElementById("token") as HTMLInputElement;
  const status = document.getElementById("status") as HTMLElement;
  const show = (message: string) => {
    status.textContent = message;
  };

  urlInput.value = (await OfficeRuntime.storage.getItem(STORAGE_URL)) || "";
  tokenInput.value = (await OfficeRuntime.storage.getItem(STORAGE_TOKEN)) || "";

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const url = urlInput.value.trim().replace(/\/+$/, "");
    await OfficeRuntime.storage.setItems({ [STORAGE_URL]: url, [STORAGE_TOKEN]: tokenInput.value.trim() });
    show("Saved. Checking the connection…");
    show(await checkConnection(url, tokenInput.value.trim()));
  });

  (document.getElementById("clear") as HTMLButtonElement).addEventListener("click", async () => {
    const count = await clearFlaskLLMCache();
    show(`Forgot ${count} cached answers. Recalculate (Ctrl+Alt+F9) to ask the server again.`);
  });
});

async function checkConnection(url: string, token: string): Promise<string> {
  try {
    const health = await fetch(`${url}/api/v1/health`);
    const info: HealthResponse = await health.json();
    const templates = await fetch(`${url}/api/v1/templates`, { headers: { "X-API-Token": token } });
    if (templates.status === 401) {
      return "The server refused the token (401). Check it and save again.";
    }
    if (!templates.ok) {
      const problem: Problem = await templates.json();
      return `The server answered ${templates.status} ${problem.code}: ${problem.detail}`;
    }
    return `Connected to FlaskLLM ${info.version} (provider ${info.provider}); token accepted.`;
  } catch (error) {
    return `Could not reach ${url}: ${error}. Check the URL (https) and the server's ALLOWED_ORIGINS.`;
  }
}
