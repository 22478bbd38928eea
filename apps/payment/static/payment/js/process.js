// The payment page's card form (templates/payment/process.html): the card element of Stripe.js.
//
// A file, not an inline script: the Content-Security-Policy refuses inline code. Its data comes
// from the form's data- attributes, the words it writes too (translated by the page). On submit
// the script asks the server for a SetupIntent (POST data-setup-url, JSON; only then, so that a
// page load makes one Stripe call), confirms the
// card into it (confirmCardSetup), which gives a PaymentMethod id; the form then posts that id,
// and the server confirms the order's PaymentIntent with it (apps/payment/intents.py says why
// this flow). When the PaymentIntent needs 3-D Secure, the page comes back with its client
// secret instead, and confirmCardPayment completes it. Messages come from the server or Stripe.js.
"use strict";

(function () {
  const form = document.getElementById("payment-form");
  if (!form || typeof Stripe === "undefined") {
    return;
  }
  const data = form.dataset;
  // Stripe.js writes its own messages (a declined card) in the page's language.
  const stripe = Stripe(data.publishableKey, { locale: data.locale || "auto" });
  const errors = document.getElementById("card-errors");

  function show(error) {
    errors.textContent = (error && error.message) || data.cardError;
  }

  if (data.intentClientSecret) {
    stripe.confirmCardPayment(data.intentClientSecret).then(function (result) {
      // Paid or not, the completed page asks Stripe and says which.
      if (result.error && !result.paymentIntent) {
        show(result.error);
      }
      window.location.assign(data.completedUrl);
    });
    return;
  }

  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const button = document.getElementById("pay-button");
  // Kept after a declined card: the same SetupIntent takes the next one.
  let setupClientSecret = "";

  // The SetupIntent's client secret, or an error ({message}) to show.
  async function setUp() {
    let response;
    try {
      response = await fetch(data.setupUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
      });
    } catch (unreachable) {
      return { error: null };
    }
    const body = await response.json().catch(function () { return {}; });
    if (response.status === 409) {
      // Paid in another tab, or expired meanwhile: the page says which.
      window.location.reload();
    }
    if (!response.ok || !body.client_secret) {
      return { error: { message: body.error } };
    }
    return { clientSecret: body.client_secret };
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    button.disabled = true;
    errors.textContent = "";
    if (!setupClientSecret) {
      const setup = await setUp();
      if (!setup.clientSecret) {
        show(setup.error);
        button.disabled = false;
        return;
      }
      setupClientSecret = setup.clientSecret;
    }
    const result = await stripe.confirmCardSetup(setupClientSecret, {
      payment_method: { card: card, billing_details: { name: data.name, email: data.email } },
    });
    if (result.error || !result.setupIntent) {
      // A card declined here (4000 0000 0000 0002) charged nothing: another may be typed in.
      show(result.error);
      button.disabled = false;
      return;
    }
    form.elements.payment_method.value = result.setupIntent.payment_method;
    form.submit();
  });
})();
