// @ts-check
/**
 * The DOM helpers every page uses: finding the page's elements by id, typed and checked, and
 * creating elements whose text is set with textContent, never parsed as HTML — so a name or a
 * message that looks like markup stays text.
 */

/**
 * The element with this id, checked to be of `type` (HTMLElement when not given). A page that
 * lost an element fails here, naming it, rather than later on a null.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {{ new (): T }} [type]
 * @returns {T}
 */
export function byId(id, type) {
  const node = document.getElementById(id);
  const want = type ?? HTMLElement;
  if (!(node instanceof want)) throw new Error(`the page has no ${want.name} #${id}`);
  return /** @type {T} */ (node);
}

/**
 * Creates an element; `text` is set with textContent, never parsed.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A button that does not submit its form. @param {string} className @param {string} [text] */
export function button(className, text) {
  const node = el("button", className, text);
  node.type = "button";
  return node;
}

/**
 * The input of a form by its name.
 * @param {HTMLFormElement} form
 * @param {string} name
 */
export function field(form, name) {
  const node = form.elements.namedItem(name);
  if (!(node instanceof HTMLInputElement)) throw new Error(`the form has no input “${name}”`);
  return node;
}

/**
 * Shows what is wrong with a form in its error line, or hides the line when nothing is.
 * @param {HTMLElement} line
 * @param {string | null | undefined} problem
 */
export function sayProblem(line, problem) {
  line.hidden = problem == null;
  line.textContent = problem ?? "";
}
