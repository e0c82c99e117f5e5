"use strict";
// The participant's token, kept in this tab's sessionStorage from the submit page to the submission pages.
const participantToken = {
  key: "poisonbench-token",
  get() {
    return sessionStorage.getItem(this.key);
  },
  set(token) {
    sessionStorage.setItem(this.key, token);
  },
  forget() {
    sessionStorage.removeItem(this.key);
  },
  headers() {
    const token = this.get();
    return token ? { Authorization: `Bearer ${token}` } : {};
  },
};
