/* The course site's own script (added to every page by course_tools.sphinx_ext).
 *
 * 1. MathJax: the site serves MathJax 3; the widget embedder (@jupyter-widgets/html-manager)
 *    still calls MathJax 2's MathJax.Hub.Queue to typeset widget labels. A small MathJax.Hub
 *    forwards those calls to MathJax 3 (before MathJax has loaded, it queues them).
 * 2. Accessibility of what the theme and the widgets draw (found by axe-core in
 *    tests/test_browser.py): names for the slider handles, icon-only buttons, widget images,
 *    the sidebar's expand arrows, and search buttons whose label hid their visible text.
 *
 * 3. Chapter numbers: _toc.yml numbers the Chapters part so that figures and equations restart
 *    per chapter (Fig. 11.3); the page titles carry their number already, so the sidebar's
 *    second copy ("7. 7. Gated units") is dropped here; registered first, it runs before item 2
 *    (the headings' copy is hidden by course.css).
 */
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".bd-sidebar a.reference, nav a.reference").forEach((a) => {
    const text = a.firstChild;
    if (text && text.nodeType === Node.TEXT_NODE) {
      text.textContent = text.textContent.replace(/^(\d+)\. (?=\1\. )/, "");
    }
  });
});

(function () {
  "use strict";

  // --- 1. MathJax 2 calls of the widget embedder, served by MathJax 3 -------------------
  const pending = [];
  const typeset = (elements) => {
    const mj = window.MathJax;
    if (mj && mj.typesetPromise && mj.startup && mj.startup.promise) {
      mj.startup.promise.then(() => mj.typesetPromise(elements)).catch(() => {});
    } else {
      pending.push(...elements);
    }
  };
  const hub = {
    Queue: function (...jobs) {
      for (const job of jobs) {
        if (typeof job === "function") {
          job();
        } else if (Array.isArray(job) && job[0] === "Typeset") {
          typeset(job.slice(2).filter((e) => e instanceof Element));
        }
      }
    },
  };
  const config = (window.MathJax = window.MathJax || {});
  config.Hub = hub;
  const startup = (config.startup = config.startup || {});
  const ready = startup.ready;
  startup.ready = function () {
    if (ready) { ready(); } else { window.MathJax.startup.defaultReady(); }
    window.MathJax.Hub = hub;
    window.MathJax.startup.promise.then(() => pending.length && window.MathJax.typesetPromise(pending.splice(0)));
  };

  // --- 2. Accessible names ----------------------------------------------------------------
  const ICONS = { play: "Play", pause: "Pause", stop: "Stop", retweet: "Repeat", repeat: "Repeat",
                  plus: "Add", minus: "Remove", refresh: "Reset", undo: "Undo" };

  function widgetLabel(el) {
    const box = el.closest(".widget-slider, .widget-inline-hbox, .widget-hbox, .widget-box");
    const label = box && box.querySelector(".widget-label");
    return label && label.textContent.trim();
  }

  function name(el, text) {
    if (text && !el.getAttribute("aria-label")) { el.setAttribute("aria-label", text); }
  }

  function fix(root) {
    root.querySelectorAll(".noUi-handle").forEach((h) => name(h, widgetLabel(h) || "Slider"));
    root.querySelectorAll(".jupyter-widgets button, button.jupyter-button").forEach((b) => {
      if (b.textContent.trim() || b.getAttribute("aria-label")) { return; }
      const icon = [...b.querySelectorAll("i")].flatMap((i) => [...i.classList])
        .map((c) => c.replace(/^fa-/, "")).find((c) => ICONS[c]);
      name(b, b.title || ICONS[icon] || "Button");
    });
    root.querySelectorAll("img.widget-image:not([alt]), .jupyter-widgets img:not([alt])").forEach(
      (img) => img.setAttribute("alt", (widgetLabel(img) || "Figure") + ", redrawn from the controls above"));
    root.querySelectorAll("nav summary, .bd-sidebar summary").forEach((s) => {
      if (s.textContent.trim() || s.getAttribute("aria-label")) { return; }
      const link = s.parentElement && s.parentElement.parentElement &&
        s.parentElement.parentElement.querySelector(":scope > a");
      name(s, "Sections of " + (link ? link.textContent.trim() : "this part"));
    });
    // A label must contain the visible text: where it does not ("Search" on a button showing
    // "Search Ctrl+K", "Toggle hidden content" on "Show code cell source"), the visible text
    // is the better name, so the label goes. Icons inside a labelled button are decoration.
    root.querySelectorAll("button[aria-label], a[aria-label], summary[aria-label]").forEach((b) => {
      b.querySelectorAll("i, svg").forEach((icon) => {
        icon.setAttribute("aria-hidden", "true");
        icon.removeAttribute("aria-labelledby");
        icon.querySelectorAll("title").forEach((t) => t.remove());
      });
      const visible = b.innerText.replace(/\s+/g, " ").trim();
      if (visible && !b.getAttribute("aria-label").toLowerCase().includes(visible.toLowerCase())) {
        b.removeAttribute("aria-label");
      }
    });
  }

  let scheduled = false;
  function schedule() {
    if (scheduled) { return; }
    scheduled = true;
    requestAnimationFrame(() => { scheduled = false; fix(document); });
  }
  document.addEventListener("DOMContentLoaded", () => {
    fix(document);
    new MutationObserver(schedule).observe(document.body, { childList: true, subtree: true });
  });
})();
