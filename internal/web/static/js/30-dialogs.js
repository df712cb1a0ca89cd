// Dialogs. A link with data-dialog (Edit, Revoke Access, Delete, View
// Details, ...) leads to a page of its own, which is what a browser
// without this script shows. With it, the page is fetched and its first
// .dialog-page is shown in a modal <dialog> over the page the Admin is on.
// The form inside posts as on the full page, so its answer (the list with
// its flash, or the form with its errors) is a normal page load.
//
// Listening on the document, not on each link, keeps rows that the list's
// live search swaps in later working. Anything unexpected (no network, a
// sign-in page because the session ended, an error page) falls back to
// following the link, so the Admin always gets the page.
(function () {
  "use strict";
  if (typeof HTMLDialogElement !== "function") {
    return; // the links stay plain links to the pages
  }

  // A page that does not answer soon is followed as a link, where the
  // browser shows its own progress.
  var fetchTimeout = 10000;
  var opening = null; // the link whose page is being fetched

  document.addEventListener("click", function (ev) {
    // A modified or middle click opens the page in a new tab as usual.
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) {
      return;
    }
    var a = ev.target instanceof Element ? ev.target.closest("a[data-dialog]") : null;
    if (!a || !a.href) {
      return;
    }
    var url = new URL(a.href, location.href);
    if (url.origin !== location.origin) {
      return;
    }
    ev.preventDefault();
    if (!opening) {
      open(a, url);
    }
  });

  function open(a, url) {
    opening = a;
    a.setAttribute("aria-busy", "true");
    var ctrl = new AbortController();
    var timer = setTimeout(function () { ctrl.abort(); }, fetchTimeout);
    fetch(url.href, { credentials: "same-origin", headers: { Accept: "text/html" }, signal: ctrl.signal })
      .then(function (res) {
        if (new URL(res.url).origin !== location.origin) {
          throw new Error("the page moved to another site");
        }
        return res.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html").querySelector(".dialog-page");
        if (!page) {
          throw new Error("not a dialog page");
        }
        show(a, document.importNode(page, true));
      })
      .catch(function () {
        location.assign(url.href);
      })
      .finally(function () {
        clearTimeout(timer);
        a.removeAttribute("aria-busy");
        opening = null;
      });
  }

  function show(opener, page) {
    var dialog = document.createElement("dialog");
    dialog.className = "modal";
    ["aria-labelledby", "aria-describedby"].forEach(function (name) {
      if (page.hasAttribute(name)) {
        dialog.setAttribute(name, page.getAttribute(name));
      }
    });
    var close = document.createElement("button");
    close.type = "button";
    close.className = "modal-close";
    close.setAttribute("aria-label", "Close");
    close.textContent = "\u00d7";
    // After the page in the DOM, so that Tab reaches the form first; the
    // style puts it in the top corner.
    dialog.append(page, close);

    var row = opener.closest("tr[data-user-id]");
    var rowID = row ? row.getAttribute("data-user-id") : "";
    var pressedOnBackdrop = false;
    dialog.addEventListener("pointerdown", function (ev) {
      pressedOnBackdrop = ev.target === dialog;
    });
    dialog.addEventListener("click", function (ev) {
      // The dialog itself has no padding: a click on it is on the
      // backdrop, unless it began inside (selecting text, say).
      if (ev.target === dialog && pressedOnBackdrop) {
        dialog.close();
        return;
      }
      var link = ev.target instanceof Element ? ev.target.closest("a[href]") : null;
      if (link && isCancel(link)) {
        ev.preventDefault();
        dialog.close();
      }
    });
    // A link acts on Enter as the key goes down. Closing then would hand
    // the rest of the key press to where the focus returns, and the row's
    // menu button would take it as a press and open its menu again. So
    // Enter on Cancel closes as the key comes up.
    var closeOnEnterUp = false;
    dialog.addEventListener("keydown", function (ev) {
      if (ev.key === "Tab") {
        // Tab and Shift+Tab go round the dialog's controls, never out of
        // it (a modal <dialog> alone would let focus reach the browser's
        // own controls on the way round).
        var all = Array.prototype.filter.call(dialog.querySelectorAll(
          "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"),
          function (el) { return el.getClientRects().length > 0; });
        if (all.length > 0) {
          var first = all[0], last = all[all.length - 1];
          if (ev.shiftKey && document.activeElement === first) {
            ev.preventDefault();
            last.focus();
          } else if (!ev.shiftKey && document.activeElement === last) {
            ev.preventDefault();
            first.focus();
          }
        }
        return;
      }
      var link = ev.key === "Enter" && ev.target instanceof Element ? ev.target.closest("a[href]") : null;
      if (link && isCancel(link)) {
        ev.preventDefault();
        closeOnEnterUp = true;
      }
    });
    dialog.addEventListener("keyup", function (ev) {
      if (ev.key === "Enter" && closeOnEnterUp) {
        dialog.close();
      }
    });
    close.addEventListener("click", function () { dialog.close(); });
    // Escape closes a modal dialog by itself, ending here too.
    dialog.addEventListener("close", function () {
      dialog.remove();
      document.documentElement.classList.remove("modal-open");
      returnFocus(opener, rowID);
    });

    document.body.append(dialog);
    document.documentElement.classList.add("modal-open");
    dialog.showModal();
    var first = focusTarget(page);
    if (first) {
      first.focus();
    }
  }

  // On the full page, Cancel (and Back to Users, Close) are links back to
  // where the Admin came from; in a dialog the Admin is still there.
  function isCancel(link) {
    return link.hasAttribute("data-dialog-close") || link.textContent.trim() === "Cancel";
  }

  // focusTarget is where the keyboard starts in a dialog: an element the
  // page marks (Cancel, where the main button destroys), else the first
  // field, else the main button, else the first link.
  function focusTarget(page) {
    return page.querySelector("[data-dialog-focus]") ||
      page.querySelector("input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])") ||
      page.querySelector("button[type=submit]:not([disabled]), .button:not(.secondary)") ||
      page.querySelector("a[href], button:not([disabled])");
  }

  // returnFocus puts the keyboard back on the link that opened the dialog;
  // when that was in a menu that has closed, or in a row the live search
  // has replaced since, on the row's three-dots button.
  function returnFocus(opener, rowID) {
    var target = opener;
    if (!visible(target) && rowID) {
      var row = document.querySelector('tr[data-user-id="' + CSS.escape(rowID) + '"]');
      target = row ? row.querySelector('[aria-label^="Actions for"]') : null;
    }
    if (visible(target)) {
      target.focus();
    }
  }

  function visible(el) {
    return el !== null && el.isConnected && el.getClientRects().length > 0;
  }
})();
