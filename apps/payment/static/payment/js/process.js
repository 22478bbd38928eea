// The payment page's card form (templates/payment/process.html): the card element of Stripe.js.
//
// A file, not an inline script: the Content-Security-Policy refuses inline code. Its data comes
// from the form's data- attributes, the words it writes too (translated by the page). The card
// is confirmed into a SetupIntent in the page (confirmCardSetup), which gives a PaymentMethod
// id; the form then posts that id, and the server confirms the order's PaymentIntent with it
// (apps/payment/intents.py says why this flow). When the PaymentIntent needs 3-D Secure, the
// page comes back with its client secret instead, and confirmCardPayment completes it.
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

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    button.disabled = true;
    errors.textContent = "";
    const result = await stripe.confirmCardSetup(data.setupClientSecret, {
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
