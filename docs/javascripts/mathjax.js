// MathJax 3 configuration for pymdownx.arithmatex (generic mode): formulas are in
// \( ... \) and \[ ... \] inside elements of class "arithmatex".
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};

// Material's instant navigation swaps pages without a reload: typeset each new page.
// No output.clearCache() here: it drops the CSS rules of the characters already typeset, and
// on a page load (where MathJax has typeset the page before this runs) every formula is then
// laid out with invisible glyphs (tests/test_docs.py's browser test catches it).
if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (window.MathJax && MathJax.startup && MathJax.typesetPromise) {
      MathJax.typesetClear();
      MathJax.texReset();
      MathJax.typesetPromise();
    }
  });
}
