"use strict";
// The submit form: obvious mistakes caught here, the API's own refusal shown beside the form, then the new
// submission's page.
(() => {
  const form = document.getElementById("submit-form");
  const maxBytes = Number(form.dataset.maxFileBytes);
  const formError = document.getElementById("form-error");
  const button = document.getElementById("submit-button");
  const checkedFields = ["token", "file", "name", "link"];
  if (participantToken.get()) form.elements.token.value = participantToken.get();

  function showFieldError(name, message) {
    const element = document.getElementById(`${name}-error`);
    element.textContent = message || "";
    element.hidden = !message;
    form.elements[name].setAttribute("aria-invalid", message ? "true" : "false");
  }

  function obviousMistakes() {
    const mistakes = {};
    if (!form.elements.token.value.trim()) mistakes.token = "Enter your token.";
    const file = form.elements.file.files[0];
    if (!file) mistakes.file = "Choose your loss file.";
    else if (!file.name.endsWith(".py")) mistakes.file = `"${file.name}" is not a .py file.`;
    else if (file.size === 0) mistakes.file = "The file is empty.";
    else if (file.size > maxBytes) {
      mistakes.file = `The file is ${file.size.toLocaleString()} bytes; the limit is ${maxBytes.toLocaleString()}.`;
    }
    if (!form.elements.name.value.trim()) mistakes.name = "Give the submission a name.";
    const link = form.elements.link.value.trim();
    if (link && !/^https?:\/\/\S+$/i.test(link)) {
      mistakes.link = "An http(s) address, e.g. https://arxiv.org/abs/1805.07836.";
    }
    return mistakes;
  }

  function showRefusal(status, answer) {
    const title = document.createElement("p");
    title.className = "form-error-title";
    title.textContent = status ? `Not accepted (${status})` : "Not sent";
    const detail = document.createElement("p");
    detail.className = "form-error-detail";
    detail.textContent = answer.detail;
    formError.replaceChildren(title, detail);
    if (answer.existing_submission_id) {
      const link = document.createElement("a");
      link.href = `/submissions/${answer.existing_submission_id}`;
      link.textContent = `See submission ${answer.existing_submission_id}`;
      formError.append(link);
    }
    if (status === 401) showFieldError("token", "This token was not accepted.");
    for (const problem of answer.errors || []) {
      const name = problem.field.replace(/^body\./, "");
      if (checkedFields.includes(name)) showFieldError(name, problem.message);
    }
    formError.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError.hidden = true;
    const mistakes = obviousMistakes();
    checkedFields.forEach((name) => showFieldError(name, mistakes[name]));
    const first = checkedFields.find((name) => mistakes[name]);
    if (first) {
      form.elements[first].focus();
      return;
    }
    const token = form.elements.token.value.trim();
    const body = new FormData();
    body.append("file", form.elements.file.files[0]);
    body.append("name", form.elements.name.value.trim());
    body.append("description", form.elements.description.value);
    if (form.elements.link.value.trim()) body.append("link", form.elements.link.value.trim());
    button.disabled = true;
    button.textContent = "Checking it in the sandbox…";
    try {
      const response = await fetch("/api/submissions", {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
        body,
      });
      const answer = await response.json().catch(() => ({ detail: `the service answered ${response.status}` }));
      if (response.ok) {
        participantToken.set(token);
        window.location.assign(`/submissions/${answer.id}`);
        return;
      }
      showRefusal(response.status, answer);
    } catch {
      showRefusal(0, { detail: "The service could not be reached; try again in a moment." });
    }
    button.disabled = false;
    button.textContent = "Submit";
  });
})();
