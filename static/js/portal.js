// Behaviour every page shares, bound by data attributes instead of inline handlers (the content
// security policy allows no inline script, issue 16 item 5).
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var target = event.target;
    // <select data-autosubmit>: choosing a value sends its form.
    if (target.matches("select[data-autosubmit]") && target.form) target.form.submit();
    // <select data-go-param="mo">: choosing a value opens this page with ?mo=<value> (or without).
    if (target.matches("select[data-go-param]")) {
      location.search = target.value ? "?" + target.dataset.goParam + "=" + encodeURIComponent(target.value) : "";
    }
  });

  document.addEventListener("click", function (event) {
    // <input type=checkbox data-check-all="selector">: ticks or clears every box the selector finds.
    var all = event.target.closest("input[data-check-all]");
    if (all) {
      document.querySelectorAll(all.dataset.checkAll).forEach(function (box) { box.checked = all.checked; });
    }
    // <a data-history-back>: goes back a page; its href (the start page) serves when there is none.
    var back = event.target.closest("a[data-history-back]");
    if (back && history.length > 1) {
      event.preventDefault();
      history.back();
    }
  });

  document.addEventListener("submit", function (event) {
    // <form data-confirm="question">: asks before sending.
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  // A polling pane marked data-poll-unless-checked skips its refresh while the user has ticked a box
  // in it, so the refresh never wipes what they are choosing.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var pane = event.detail && event.detail.elt;
    if (pane && pane.matches && pane.matches("[data-poll-unless-checked]") &&
        pane.querySelector("input[type=checkbox]:checked")) {
      event.preventDefault();
    }
  });

  // A pane request the server refused (a stale CSRF token, a lost session, an error) is said at the
  // top of the page: htmx swaps nothing on an error answer, and the click must not seem ignored.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail && event.detail.xhr;
    var main = document.querySelector("main");
    if (!xhr || !main) return;
    var said = new DOMParser().parseFromString(xhr.responseText || "", "text/html")
      .querySelector("[data-testid=csrf-failure], [data-testid=error-page] p");
    var text = said ? said.textContent.trim().replace(/\s+/g, " ")
      : "Действие не выполнено: сервер ответил ошибкой " + xhr.status + ". Обновите страницу и повторите.";
    var list = main.querySelector("ul.messages") || main.insertBefore(document.createElement("ul"), main.firstChild);
    list.className = "messages";
    var item = document.createElement("li");
    item.className = "error";
    item.setAttribute("role", "alert");
    item.setAttribute("data-testid", "pane-error");
    item.textContent = text;
    list.appendChild(item);
  });

  // <body data-print-on-load>: the print view opens the browser's print dialog.
  window.addEventListener("load", function () {
    if (document.body && document.body.hasAttribute("data-print-on-load")) window.print();
  });
})();
