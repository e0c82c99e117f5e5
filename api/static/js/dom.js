"use strict";
// The pages' one way to make an element: a tag with its text and class, both optional.
const dom = {
  element(tag, text, className) {
    const made = document.createElement(tag);
    if (text !== undefined) made.textContent = text;
    if (className) made.className = className;
    return made;
  },
};
